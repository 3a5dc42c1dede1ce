"""Merging files into one model and the rules a schema cannot express.

Input: documents already checked against the schema, with the paths found broken. Broken
parts are left out of the model (their errors are already reported), so one mistake gives
one message, not a cascade. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

from hossctl.config.structure import did_you_mean, quote, show
from hossctl.config.yamlsource import Document, PathKey
from hossctl.plan.model import (
    DEFAULT_DELETE_THRESHOLD,
    DEFAULT_PAT_ENV,
    UNMANAGED,
    Config,
    DatasetSync,
    DatasetSyncMode,
    Diagnostic,
    Namespace,
    Position,
    Server,
    SyncTarget,
)
from hossctl.urls import CORE_PATH, InvalidURL, normalise_core_url
from hossctl.values import field, value

_SERVER_FIELDS = (
    "url", "pat_env", "prune", "delete_threshold", "auth_url", "allow_insecure_http", "service_secret_env"
)


@value
class CheckedDocument:
    """A document that went through interpolation and the schema.

    ``broken`` holds the paths of reported errors, ``tainted`` those and all their ancestors.
    """

    doc: Document
    data: dict[str, Any]
    broken: frozenset[PathKey]
    tainted: frozenset[PathKey]

    @classmethod
    def of(cls, doc: Document, data: dict[str, Any], broken: set[PathKey]) -> CheckedDocument:
        tainted = {path[:i] for path in broken for i in range(len(path) + 1)}
        return cls(doc, data, frozenset(broken), frozenset(tainted))


@value
class _NamespaceDecl:
    name: str
    data: dict[str, Any]
    source: CheckedDocument
    path: PathKey
    usable: bool

    @property
    def position(self) -> Position:
        return self.source.doc.key_position(self.path)


@value
class _ServerDecl:
    key: str
    position: Position
    fields: dict[str, tuple[Any, Position]] = field(default_factory=dict)
    broken_fields: set[str] = field(default_factory=set)
    namespaces: dict[str, _NamespaceDecl] = field(default_factory=dict)


class _ConfigBuilder:
    """Merges the checked documents' servers and namespaces into one Config, collecting diagnostics."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.servers: dict[str, _ServerDecl] = {}

    def error(self, rule: str, message: str, position: Position | None) -> None:
        self.diagnostics.append(Diagnostic(message, position, "error", rule))

    def warning(self, rule: str, message: str, position: Position | None) -> None:
        self.diagnostics.append(Diagnostic(message, position, "warning", rule))

    # -- merging -----------------------------------------------------------------------------
    def add(self, source: CheckedDocument) -> None:
        servers = source.data.get("servers")
        if not isinstance(servers, dict):
            return
        doc = source.doc
        for key, body in servers.items():
            path: PathKey = ("servers", key)
            if path in source.broken or not isinstance(body, dict):
                continue  # an invalid key or a server that is not a mapping: already reported
            decl = self.servers.get(key)
            if decl is None:
                decl = self.servers[key] = _ServerDecl(key, doc.key_position(path))
            for name in _SERVER_FIELDS:
                if name not in body:
                    continue
                field_path = (*path, name)
                if field_path in source.tainted:
                    decl.broken_fields.add(name)
                    continue
                value, position = body[name], doc.value_position(field_path)
                previous = decl.fields.get(name)
                if previous is None:
                    decl.fields[name] = (value, position)
                elif previous[0] != value:
                    self.error(
                        "server-conflict",
                        f"server {quote(key)} has {name} {show(value)} here but {show(previous[0])} at "
                        f"{previous[1]}; a server split over several files must agree on its {name}",
                        position,
                    )
            namespaces = body.get("namespaces")
            if not isinstance(namespaces, dict):
                continue
            for name, ns_body in namespaces.items():
                ns_path = (*path, "namespaces", name)
                first = decl.namespaces.get(name)
                if first is not None:
                    self.error(
                        "duplicate-namespace",
                        f"namespace {quote(name)} of server {quote(key)} is declared twice: here and at "
                        f"{first.position}; declare it once",
                        doc.key_position(ns_path),
                    )
                    continue
                usable = ns_path not in source.broken and isinstance(ns_body, dict)
                decl.namespaces[name] = _NamespaceDecl(name, ns_body, source, ns_path, usable)

    # -- building ----------------------------------------------------------------------------
    def build(self) -> Config:
        core_urls: dict[str, str] = {}
        owners: dict[str, str] = {}
        for key in sorted(self.servers):
            decl = self.servers[key]
            core = self._server_core_url(decl)
            if core is None:
                continue
            other = owners.get(core)
            if other is not None:
                self.error(
                    "duplicate-url",
                    f"servers {quote(other)} and {quote(key)} have the same URL; declare each server once",
                    decl.fields["url"][1],
                )
                continue
            owners[core] = key
            core_urls[key] = core
        resolver = _TargetResolver(set(self.servers), core_urls, owners)
        servers = []
        for key in sorted(self.servers):
            decl = self.servers[key]
            namespaces = tuple(
                ns
                for name in sorted(decl.namespaces)
                if (ns := self._namespace(decl, decl.namespaces[name], resolver)) is not None
            )
            if key not in core_urls:
                continue
            url_value, _ = decl.fields["url"]
            pat_env = decl.fields.get("pat_env", (DEFAULT_PAT_ENV, None))[0]
            prune = decl.fields.get("prune", (False, None))[0]
            threshold = decl.fields.get("delete_threshold", (DEFAULT_DELETE_THRESHOLD, None))[0]
            auth_url = self._auth_url(decl)
            insecure = decl.fields.get("allow_insecure_http", (False, None))[0]
            service_env = decl.fields.get("service_secret_env", (None, None))[0]
            servers.append(
                Server(
                    key=key,
                    url=str(url_value).strip().rstrip("/"),
                    core_url=core_urls[key],
                    pat_env=str(pat_env),
                    prune=bool(prune),
                    namespaces=namespaces,
                    position=decl.position,
                    delete_threshold=int(threshold),
                    auth_url=auth_url,
                    allow_insecure_http=bool(insecure),
                    service_secret_env=None if service_env is None else str(service_env),
                )
            )
        config = Config(servers=tuple(servers))
        self._check_links(config)
        self._check_buckets(config)
        return config

    def _auth_url(self, decl: _ServerDecl) -> str | None:
        if "auth_url" not in decl.fields or "auth_url" in decl.broken_fields:
            return None
        value, position = decl.fields["auth_url"]
        text = str(value).strip()
        try:
            normalise_core_url(text)
            parts = urlsplit(text)
        except InvalidURL:
            self.error(
                "invalid-url",
                f"'auth_url' of server {quote(decl.key)} {show(text)} is not an http(s) URL with a host",
                position,
            )
            return None
        if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
            self.error(
                "invalid-url",
                f"'auth_url' of server {quote(decl.key)} must be the auth service's base URL (such as "
                "https://auth.example.org/auth/v1), with no user, password, query or fragment",
                position,
            )
            return None
        return text.rstrip("/")

    def _server_core_url(self, decl: _ServerDecl) -> str | None:
        if "url" in decl.broken_fields:
            return None
        if "url" not in decl.fields:
            self.error(
                "missing-url",
                f"server {quote(decl.key)} has no url; add its base URL, e.g. url: https://hoss.example.org",
                decl.position,
            )
            return None
        value, position = decl.fields["url"]
        core, problem = _parse_url(str(value), allow_core_path=False)
        if problem:
            self.error("invalid-url", f"'url' of server {quote(decl.key)} {problem}", position)
        return core

    def _namespace(
        self, server: _ServerDecl, decl: _NamespaceDecl, resolver: _TargetResolver
    ) -> Namespace | None:
        if not decl.usable:
            return None
        doc, path, tainted = decl.source.doc, decl.path, decl.source.tainted
        # A valid file taints nothing: its namespaces skip the lookups (a tuple each) below.
        if not tainted:
            data = decl.data
        elif (*path, "ensure") in tainted:
            return None
        else:
            data = {
                key: value for key, value in decl.data.items() if (*path, key) not in tainted or key == "sync"
            }
        ensure = data.get("ensure", "present")
        protect = bool(data.get("protect", False))
        allow_multiple = bool(data.get("allow_multiple_sync_targets", False))
        if ensure == "absent" and protect:
            self.error(
                "protected-absent",
                f"namespace {quote(decl.name)} has ensure: absent and protect: true; "
                "a protected namespace is never deleted: remove one of them",
                doc.value_position((*path, "ensure")),
            )
        declared = data.get("sync", [])
        declared = (
            declared if isinstance(declared, list) and (*path, "sync") not in decl.source.broken else []
        )
        if ensure == "absent" and declared:
            self.error(
                "absent-with-sync",
                f"namespace {quote(decl.name)} has ensure: absent but declares sync targets; remove them",
                doc.key_position((*path, "sync")),
            )
        if len(declared) > 1 and not allow_multiple:
            self.error(
                "multiple-sync-targets",
                f"namespace {quote(decl.name)} declares {len(declared)} sync targets; Hoss documents "
                "only one per namespace as supported "
                "(set allow_multiple_sync_targets: true to declare several anyway)",
                doc.value_position((*path, "sync", 1)),
            )
        raw_targets = [
            (i, cast(dict[str, Any], item))
            for i, item in enumerate(declared)
            if isinstance(item, dict)
            and "target" in item
            and (not tainted or (*path, "sync", i, "target") not in tainted)
        ]
        targets: list[SyncTarget] = []
        seen: dict[tuple[str, str], Position] = {}
        for i, raw in raw_targets:
            target_path = (*path, "sync", i)
            target = resolver.resolve(str(raw["target"]), doc, (*target_path, "target"), self)
            if target is None or (tainted and target_path in tainted):
                continue  # unresolvable, or its other fields are already reported
            target_server, core_url = target
            target_namespace = str(raw.get("namespace", decl.name))
            position = doc.value_position(target_path)
            if core_url == resolver.core_urls.get(server.key) and target_namespace == decl.name:
                self.error(
                    "self-sync",
                    f"namespace {quote(decl.name)} of server {quote(server.key)} syncs to itself; "
                    "a sync target must be another namespace or another server",
                    doc.value_position((*target_path, "target")),
                )
                continue
            first = seen.get((core_url, target_namespace))
            if first is not None:
                self.error(
                    "duplicate-target",
                    f"this sync target is already declared at {first}; declare each target once",
                    position,
                )
                continue
            seen[(core_url, target_namespace)] = position
            targets.append(
                SyncTarget(
                    target=str(raw["target"]),
                    target_server=target_server,
                    core_url=core_url,
                    namespace=target_namespace,
                    type=raw["type"],
                    position=position,
                )
            )
        datasets = self._datasets(decl, data, ensure)
        return Namespace(
            name=decl.name,
            description=str(data.get("description", "")),
            object_store=str(data.get("object_store", "")),
            bucket=str(data.get("bucket", "")),
            protect=protect,
            ensure=ensure,
            sync=tuple(targets),
            allow_multiple_sync_targets=allow_multiple,
            position=decl.position,
            datasets=datasets,
        )

    def _datasets(self, decl: _NamespaceDecl, data: dict[str, Any], ensure: str) -> DatasetSync:
        """The ``datasets`` block, with its policy checked offline as the server would check it.

        A policy the server would refuse (400) or crash on (500) is an error here, at its line,
        rather than a failed apply halfway through a namespace's datasets.
        """
        doc, path = decl.source.doc, (*decl.path, "datasets")
        block = data.get("datasets")
        if not isinstance(block, dict) or path in decl.source.tainted:
            return UNMANAGED
        mode = block.get("sync", "unmanaged")
        mode = "off" if mode is False else mode  # YAML 1.1 reads an unquoted ``off`` as false
        if ensure == "absent" and mode != "unmanaged":
            self.error(
                "dataset-sync",
                f"namespace {quote(decl.name)} has ensure: absent but declares datasets sync: {mode}; "
                "remove the datasets block",
                doc.key_position(path),
            )
            return UNMANAGED
        policy: str | None = None
        raw = block.get("policy")
        if raw is not None:
            policy = self._policy(decl.name, raw, mode, doc.value_position((*path, "policy")))
        exclude = tuple(str(p) for p in block.get("except", ()) if isinstance(p, str))
        return DatasetSync(
            sync=cast(DatasetSyncMode, mode), policy=policy, exclude=exclude, position=doc.key_position(path)
        )

    def _policy(self, name: str, raw: Any, mode: str, position: Position | None) -> str | None:
        import json

        from hossctl import syncpolicy

        if mode not in ("simplex", "duplex"):
            self.error(
                "dataset-sync",
                f"namespace {quote(name)} gives a datasets policy, but its datasets sync is {mode}, so "
                "the policy would never be sent: set sync: simplex or duplex, or remove the policy",
                position,
            )
            return None
        value = raw
        if isinstance(raw, str):
            import yaml

            try:
                value = yaml.safe_load(raw)
            except yaml.YAMLError:
                value = raw  # syncpolicy reports the syntax error below
        try:
            problem = syncpolicy.parse(raw) if isinstance(raw, str) else syncpolicy.check(value)
        except syncpolicy.NullPolicy:
            problem = "the document is empty"
        if problem is not None:
            self.error(
                "dataset-sync",
                f"the datasets policy of namespace {quote(name)} would be refused by the server: "
                f"{problem}; fix the document (it needs Version: \"1\" and valid Statements)",
                position,
            )
            return None
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)

    # -- checks across servers ---------------------------------------------------------------
    def _check_links(self, config: Config) -> None:
        # One dict instead of Config.server/Server.namespace, which scan: with a sync target on
        # every namespace those scans made this check quadratic (1.6 s of 10,000 namespaces).
        declared = {(s.key, ns.name): ns for s in config.servers for ns in s.namespaces}
        for server in config.servers:
            for namespace in server.namespaces:
                for target in namespace.sync:
                    if target.target_server is None:
                        continue
                    peer = declared.get((target.target_server, target.namespace))
                    if peer is None:
                        continue
                    here = f"{server.key}/{namespace.name}"
                    there = f"{target.target_server}/{target.namespace}"
                    if peer.ensure == "absent":
                        self.error(
                            "target-absent",
                            f"{here} syncs to {there}, which is declared ensure: absent at {peer.position}",
                            target.position,
                        )
                        continue
                    for back in peer.sync:
                        if back.target_server != server.key or back.namespace != namespace.name:
                            continue
                        if back.type != target.type and (server.key, namespace.name) > (
                            target.target_server,
                            target.namespace,
                        ):
                            self.error(
                                "link-type-mismatch",
                                f"the link {here} -> {there} is {target.type} here but {there} -> {here} is "
                                f"{back.type} at {back.position}; a link declared from both ends must have "
                                "the same type",
                                target.position,
                            )

    def _check_buckets(self, config: Config) -> None:
        for server in config.servers:
            users: dict[tuple[str, str], Namespace] = {}
            for namespace in server.namespaces:
                if namespace.ensure != "present":
                    continue
                store_bucket = (namespace.object_store, namespace.bucket)
                first = users.get(store_bucket)
                if first is None:
                    users[store_bucket] = namespace
                    continue
                self.warning(
                    "bucket-shared",
                    f"namespaces {quote(first.name)} and {quote(namespace.name)} of server "
                    f"{quote(server.key)} share bucket {quote(namespace.bucket)} "
                    f"of object store {quote(namespace.object_store)}; "
                    "the sync service tells namespaces apart by bucket, so their data will get mixed up",
                    namespace.position,
                )


class _TargetResolver:
    """Turns a ``target`` (server key or URL) into (config server key or None, canonical core URL)."""

    def __init__(self, keys: set[str], core_urls: dict[str, str], owners: dict[str, str]) -> None:
        self.keys = keys
        self.core_urls = core_urls
        self.owners = owners

    def resolve(
        self, target: str, doc: Document, path: PathKey, builder: _ConfigBuilder
    ) -> tuple[str | None, str] | None:
        if target in self.keys:
            core = self.core_urls.get(target)
            return (target, core) if core is not None else None  # its url error is reported already
        if "://" not in target:
            known = ", ".join(sorted(self.keys)) or "none"
            builder.error(
                "unknown-target",
                f"sync target {quote(target)} is neither a server of this config (servers: {known}) nor an "
                f"http(s) URL{did_you_mean(target, self.keys)}",
                doc.value_position(path),
            )
            return None
        core, problem = _parse_url(target, allow_core_path=True)
        if core is None:
            builder.error("invalid-url", f"sync target {problem}", doc.value_position(path))
            return None
        return self.owners.get(core), core


def _parse_url(url: str, allow_core_path: bool) -> tuple[str | None, str | None]:
    """The canonical core URL of a base (or, for targets, core) URL, or what is wrong with it."""
    try:
        core = normalise_core_url(url)
        parts = urlsplit(url.strip())
    except InvalidURL:
        return None, f"{show(url)} is not an http(s) URL with a host"
    if parts.username is not None or parts.password is not None:
        return None, "must not contain a user name or password; name a token variable with pat_env instead"
    if parts.query or parts.fragment:
        return None, f"{show(url)} must not have a query or fragment"
    path = parts.path.rstrip("/")
    if path and not (allow_core_path and path == CORE_PATH):
        expected = (
            "the server's base URL or its core URL (…/core/v1)"
            if allow_core_path
            else ("the server's base URL without a path (hossctl adds /core/v1 itself)")
        )
        return None, f"{show(url)} must be {expected}"
    return core, None


def build_config(sources: list[CheckedDocument]) -> tuple[Config, list[Diagnostic]]:
    """Merge the documents into one Config; diagnostics hold semantic errors and warnings."""
    builder = _ConfigBuilder()
    for source in sources:
        builder.add(source)
    config = builder.build()
    return config, builder.diagnostics
