"""Safe YAML loading that remembers where every key and value came from.

PyYAML's loaders lose positions, silently keep the last of duplicate keys, expand aliases
without bound (billion laughs) and recurse once per nesting level. So hossctl drives the
parser's event stream itself (libyaml when available, for speed) and composes the document
iteratively: duplicate keys, unknown tags, excessive nesting and alias explosions become
diagnostics with a line and column, never exceptions. The result is plain data (what the
JSON Schema validates) plus a position for every path in it.

Most configs use none of YAML's tags, anchors, aliases or merge keys: ``_load_plain`` builds
those in one pass straight from the events, three times faster than composing nodes first,
and hands any other document to the general loader, which reads it from the start.
"""

from __future__ import annotations

import codecs
from typing import Any, cast

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from hossctl import values
from hossctl.plan.model import Diagnostic, Position
from hossctl.secretscan import redact

PathKey = tuple[str | int, ...]
LineCol = tuple[int, int]

MAX_DEPTH = 100
MAX_ALIAS_NODES = 100_000
MAX_BYTES = 10 * 1024 * 1024
# Keys, values and list items in one file. 10,000 namespaces are 150,000; a 10 MiB file of the
# tiniest values ([1,1,1,...]) would be 5 million, and every stage costs time and memory per node.
MAX_NODES = 1_000_000

_Parser: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = (_TAG + t for t in ("str", "null", "bool", "int", "float"))
_MERGE, _TIMESTAMP, _VALUE = _TAG + "merge", _TAG + "timestamp", _TAG + "value"
_MAP, _SEQ = _TAG + "map", _TAG + "seq"
_RESOLVER: Any = Resolver()
_CONSTRUCTOR = SafeConstructor()
# The implicit resolvers by first character, as Resolver.resolve looks them up for a plain scalar.
_IMPLICIT: dict[str, list[tuple[str, Any]]] = {
    first: [*resolvers, *Resolver.yaml_implicit_resolvers.get(None, [])]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
    if first is not None
}
_NO_RESOLVERS: list[tuple[str, Any]] = list(Resolver.yaml_implicit_resolvers.get(None, []))
_SHIFT = 24  # a position is packed into one int: line << 24 | column (a 10 MiB line fits)


def _pack(at: LineCol) -> int:
    return at[0] << _SHIFT | at[1]


def _unpack(packed: int) -> LineCol:
    return packed >> _SHIFT, packed & ((1 << _SHIFT) - 1)


# Where a value sits: (its key's position, None for list items and the root; its own position;
# its source text when a plain scalar was read as something other than a string, ``yes`` ->
# true). A plain tuple of packed ints: a config can hold a million of them.
Span = tuple[int | None, int, str | None]


@values.value
class Document:
    """One YAML file as plain data with the position of every path in it.

    ``bad_paths`` are values the loader already reported (e.g. an unsupported tag), so later
    stages do not report them again.
    """

    file: str
    data: dict[str, Any]
    spans: dict[PathKey, Span]
    bad_paths: frozenset[PathKey] = values.field(default_factory=frozenset)

    def value_position(self, path: PathKey) -> Position:
        """Position of the value at ``path`` (or of its nearest ancestor that has one)."""
        while path not in self.spans and path:
            path = path[:-1]
        span = self.spans.get(path)
        line, col = _unpack(span[1]) if span else (1, 1)
        return Position(self.file, line, col)

    def key_position(self, path: PathKey) -> Position:
        """Position of the key holding ``path``; for list items and the root, of the value."""
        span = self.spans.get(path)
        if span is not None and span[0] is not None:
            return Position(self.file, *_unpack(span[0]))
        return self.value_position(path)

    def raw(self, path: PathKey) -> str | None:
        span = self.spans.get(path)
        return span[2] if span else None


class _Fatal(Exception):
    """Stops loading a document at once (syntax error, bomb, too deep)."""

    def __init__(self, message: str, at: LineCol, rule: str = "yaml-limit") -> None:
        super().__init__(message)
        self.message = message
        self.at = at
        self.rule = rule


class _Scalar:
    __slots__ = ("at", "bad", "is_merge", "text", "value")

    def __init__(self, value: Any, text: str, at: LineCol, bad: bool = False, is_merge: bool = False) -> None:
        self.value = value
        self.text = text
        self.at = at
        self.bad = bad
        self.is_merge = is_merge


class _Mapping:
    __slots__ = ("at", "pairs")

    def __init__(self, at: LineCol) -> None:
        self.at = at
        self.pairs: list[tuple[str, LineCol, bool, _Node]] = []


class _Sequence:
    __slots__ = ("at", "items")

    def __init__(self, at: LineCol) -> None:
        self.at = at
        self.items: list[_Node] = []


class _Alias:
    __slots__ = ("at", "target")

    def __init__(self, target: _Scalar | _Mapping | _Sequence, at: LineCol) -> None:
        self.target = target
        self.at = at


_Node = _Scalar | _Mapping | _Sequence | _Alias
_SKIP = object()  # value of a pair whose key was rejected


class _MapFrame:
    __slots__ = ("anchor", "node", "pending", "seen")

    def __init__(self, node: _Mapping, anchor: str | None) -> None:
        self.node = node
        self.anchor = anchor
        self.pending: Any = None  # None: expecting a key; else (key, at, is_merge) or _SKIP
        self.seen: dict[str, LineCol] = {}


class _SeqFrame:
    __slots__ = ("anchor", "node")

    def __init__(self, node: _Sequence, anchor: str | None) -> None:
        self.node = node
        self.anchor = anchor


def _tag(tag: str) -> str:
    return _q("!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag)


def _q(text: str) -> str:
    shown = redact(text)  # before shortening, so that no part of a token survives
    return "'" + (shown if len(shown) <= 60 else shown[:57] + "...") + "'"


def decode(file: str, data: bytes) -> tuple[str | None, Diagnostic | None]:
    """The file's text, or why it is not UTF-8 text."""
    if len(data) > MAX_BYTES:
        return None, Diagnostic(
            f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB; is it really a config?",
            Position(file, 1, 1),
            rule="yaml-limit",
        )
    for bom, name in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if data.startswith(bom) and not data.startswith(codecs.BOM_UTF8):
            return None, Diagnostic(
                f"file is encoded as {name}; save it as UTF-8", Position(file, 1, 1), rule="encoding"
            )
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line, col = _line_col(data, exc.start)
        return None, Diagnostic(
            f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x}); save it as UTF-8",
            Position(file, line, col),
            rule="encoding",
        )


def _line_col(data: bytes, offset: int) -> LineCol:
    offset = max(0, min(offset, len(data)))
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


def _too_many_nodes(at: LineCol) -> _Fatal:
    return _Fatal(
        f"the file holds more than {MAX_NODES:,} keys, values and list items (this one is the first "
        "over the limit); refusing to load it: split the config into several files of a directory "
        "and pass the directory with -f",
        at,
    )


def _construct(tag: str, text: str) -> Any:
    """A null, bool, int or float scalar's value, as PyYAML's SafeConstructor makes it.

    The constructor function is called directly: ``construct_object`` would remember every
    node it ever built in the shared constructor, a leak of one node per number in every file.
    """
    return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, ScalarNode(tag, text))


_PLAIN_MEMO: dict[str, tuple[Any, str | None] | None] = {}


def _plain_value(text: str) -> tuple[Any, str | None] | None:
    """A plain scalar's (value, source text when the value is not a string), or None for a
    scalar the fast path leaves to the general loader (a merge key's ``<<``, ``=``, a failure).

    Remembered (up to 4,096 texts at a time): configs repeat ``true``, ``duplex`` and the like.
    """
    known = _PLAIN_MEMO.get(text, _PLAIN_MEMO)
    if known is not _PLAIN_MEMO:
        return known  # type: ignore[return-value]
    if len(_PLAIN_MEMO) >= 4096:
        _PLAIN_MEMO.clear()
    answer = _PLAIN_MEMO[text] = _resolve_plain(text)
    return answer


def _resolve_plain(text: str) -> tuple[Any, str | None] | None:
    tag = next((tag for tag, regexp in _IMPLICIT.get(text[:1], _NO_RESOLVERS) if regexp.match(text)), None)
    if tag is None:
        return text, None
    decimal = len(text) < 70 and text.isascii() and text.isdigit() and (text[0] != "0" or text == "0")
    if tag == _INT and decimal:
        return int(text), text  # what construct_yaml_int makes of plain decimal digits, without its detour
    if tag == _NULL:
        return None, text
    if tag == _TIMESTAMP:
        return text, None
    if tag not in (_BOOL, _INT, _FLOAT):
        return None  # merge keys, the value key '=' and '!'-style yaml tags: not read here
    try:
        value = _construct(tag, text)
    except Exception:  # the general loader reports it
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return text, None  # absurd integers stay text; the schema rejects them
    return value, text


def _load_plain(text: str) -> tuple[dict[str, Any], dict[PathKey, Span]] | None:
    """The data and spans of a document that is one mapping of plain YAML, in one pass; else None.

    Plain: no tag, anchor, alias or merge key, no duplicate or non-scalar key, no second
    document, nesting within the limit. What the general loader would report about anything
    else, it reports: this returns None at the first such event (before which the general
    loader has nothing to say either) and the general loader reads the file from the start.
    The node limit and syntax errors are raised here as the general loader raises them.
    """
    parser = _Parser(text)
    try:
        get = parser.get_event
        get()  # stream start
        event: Any = get()
        if type(event) is not yaml.DocumentStartEvent:
            return None  # an empty file
        event = get()
        if type(event) is not yaml.MappingStartEvent or event.tag is not None or event.anchor is not None:
            return None
        mark: Any = event.start_mark
        root: dict[str, Any] = {}
        spans: dict[PathKey, Span] = {(): (None, (mark.line + 1) << _SHIFT | (mark.column + 1), None)}
        stack: list[tuple[Any, PathKey, bool]] = []
        current: Any = root
        path: PathKey = ()
        is_map = True
        key: Any = None  # the key whose value comes next, None when a key comes next
        key_at = 0
        nodes = 1
        scalar_event, mapping_start = yaml.ScalarEvent, yaml.MappingStartEvent
        sequence_start = yaml.SequenceStartEvent
        while True:
            event = get()
            kind = type(event)
            if kind is scalar_event:
                if event.tag is not None or event.anchor is not None:
                    return None
                mark = event.start_mark
                at = (mark.line + 1) << _SHIFT | (mark.column + 1)
                nodes += 1
                if nodes > MAX_NODES:
                    raise _too_many_nodes((mark.line + 1, mark.column + 1))
                value: Any = event.value
                plain = event.implicit[0]
                if is_map and key is None:
                    if value in current or (plain and value == "<<"):
                        return None  # a duplicate key, or a merge
                    key = value
                    key_at = at
                    continue
                raw = None
                if plain:
                    resolved = _plain_value(value)
                    if resolved is None:
                        return None
                    value, raw = resolved
                if is_map:
                    current[key] = value
                    spans[(*path, key)] = (key_at, at, raw)
                    key = None
                else:
                    spans[(*path, len(current))] = (None, at, raw)
                    current.append(value)
            elif kind is mapping_start or kind is sequence_start:
                if event.tag is not None or event.anchor is not None or (is_map and key is None):
                    return None
                mark = event.start_mark
                if len(stack) + 1 >= MAX_DEPTH:
                    return None
                nodes += 1
                if nodes > MAX_NODES:
                    raise _too_many_nodes((mark.line + 1, mark.column + 1))
                at = (mark.line + 1) << _SHIFT | (mark.column + 1)
                child: Any = {} if kind is mapping_start else []
                if is_map:
                    child_path: PathKey = (*path, key)
                    current[key] = child
                    spans[child_path] = (key_at, at, None)
                    key = None
                else:
                    child_path = (*path, len(current))
                    spans[child_path] = (None, at, None)
                    current.append(child)
                stack.append((current, path, is_map))
                current, path, is_map = child, child_path, kind is mapping_start
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                if not stack:
                    break
                current, path, is_map = stack.pop()
            else:
                return None  # an alias
        get()  # document end
        if type(get()) is not yaml.StreamEndEvent:
            return None  # a second document
        return root, spans
    finally:
        parser.dispose()


def load_yaml(file: str, data: bytes) -> tuple[Document | None, list[Diagnostic]]:
    """Parse one config file. The document is None when nothing usable could be read."""
    text, problem = decode(file, data)
    if text is None:
        return None, [problem] if problem else []
    loader = _Loader(file)
    try:
        plain = _load_plain(text)
        if plain is not None:
            return Document(file, plain[0], plain[1]), []
        root = loader.compose(text)
        if root is None:
            return None, [
                *loader.diagnostics,
                Diagnostic(
                    "file is empty; a config starts with 'version: 1' and a 'servers' mapping",
                    Position(file, 1, 1),
                    rule="schema",
                ),
            ]
        built = loader.build(root)
    except _Fatal as exc:
        fatal = Diagnostic(redact(exc.message), Position(file, *exc.at), rule=exc.rule)
        return None, [*loader.diagnostics, fatal]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem_text = exc.problem or exc.context or "invalid YAML"
        message = f"YAML syntax error: {problem_text}"
        if exc.context and exc.problem:
            message += f" ({exc.context})"
        syntax = Diagnostic(redact(message), Position(file, *at), rule="yaml-syntax")
        return None, [*loader.diagnostics, syntax]
    except yaml.reader.ReaderError as exc:
        line, col = _line_col(text.encode("utf-8"), exc.position)
        what = f"character U+{exc.character:04X}" if isinstance(exc.character, int) else "character"
        return None, [
            *loader.diagnostics,
            Diagnostic(
                f"YAML does not allow the control {what} here; remove it",
                Position(file, line, col),
                rule="yaml-syntax",
            ),
        ]
    except yaml.YAMLError as exc:  # any other libyaml complaint, without a mark
        other = Diagnostic(redact(f"YAML error: {exc}"), Position(file, 1, 1), rule="yaml-syntax")
        return None, [*loader.diagnostics, other]
    if not isinstance(built, dict):
        kind = (
            "null"
            if built is None
            else "a list"
            if isinstance(built, list)
            else f"the scalar {_q(str(built))}"
        )
        return None, [
            *loader.diagnostics,
            Diagnostic(
                f"the top level must be a mapping with 'version' and 'servers', not {kind}",
                Position(file, *loader.root_at),
                rule="schema",
            ),
        ]
    return Document(file, built, loader.spans, frozenset(loader.bad_paths)), loader.diagnostics


class _Loader:
    """Composes the event stream into nodes, then builds data, counting every expanded node."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.diagnostics: list[Diagnostic] = []
        self.spans: dict[PathKey, Span] = {}
        self.bad_paths: set[PathKey] = set()
        self.bad_nodes: set[int] = set()  # ids of collections with an unsupported tag
        self.composed = 0
        self.built = 0
        self.limit = 0
        self.alias_at: LineCol | None = None  # outermost alias being expanded, for bomb reports
        self.root_at: LineCol = (1, 1)

    def _counted(self, at: LineCol) -> None:
        self.composed += 1
        if self.composed > MAX_NODES:
            raise _too_many_nodes(at)

    def _error(self, message: str, at: LineCol, rule: str = "yaml-unsupported") -> None:
        self.diagnostics.append(Diagnostic(redact(message), Position(self.file, *at), rule=rule))

    # -- composing ---------------------------------------------------------------------------
    def compose(self, text: str) -> _Node | None:
        anchors: dict[str, _Scalar | _Mapping | _Sequence] = {}
        open_anchors: set[str] = set()
        stack: list[_MapFrame | _SeqFrame] = []
        root: _Node | None = None
        documents = 0
        event: Any
        for event in yaml.parse(text, Loader=_Parser):
            kind = type(event)
            mark = event.start_mark
            at = (mark.line + 1, mark.column + 1)
            if kind is yaml.ScalarEvent:
                node: _Node = self._scalar(event, at)
                if event.anchor is not None:
                    anchors[event.anchor] = cast(_Scalar, node)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                if len(stack) >= MAX_DEPTH:
                    raise _Fatal(f"nesting is deeper than {MAX_DEPTH} levels; refusing to load it", at)
                self._counted(at)
                tag = event.tag
                is_map = kind is yaml.MappingStartEvent
                frame: _MapFrame | _SeqFrame = (
                    _MapFrame(_Mapping(at), event.anchor)
                    if is_map
                    else _SeqFrame(_Sequence(at), event.anchor)
                )
                if tag not in (None, "!", _MAP if is_map else _SEQ):
                    self._error(f"unsupported YAML tag {_tag(tag)}; hossctl reads plain YAML only", at)
                    self.bad_nodes.add(id(frame.node))
                if event.anchor is not None:
                    open_anchors.add(event.anchor)
                stack.append(frame)
                continue
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                frame = stack.pop()
                node = frame.node
                if frame.anchor is not None:
                    anchors[frame.anchor] = frame.node
                    open_anchors.discard(frame.anchor)
            elif kind is yaml.AliasEvent:
                self._counted(at)
                target = anchors.get(event.anchor)
                if target is None:
                    why = (
                        "refers to the node that contains it"
                        if event.anchor in open_anchors
                        else "is used before its anchor is defined"
                    )
                    self._error(f"alias *{event.anchor} {why}", at)
                    node = _Scalar(None, "", at, bad=True)
                else:
                    node = _Alias(target, at)
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _Fatal(
                        "a config file holds one YAML document; remove the second one (after ---)",
                        at,
                        "yaml-syntax",
                    )
                continue
            else:  # stream start/end, document end
                continue
            if not stack:
                root = node
                self.root_at = node.at
            else:
                self._attach(stack[-1], node)
        if isinstance(root, _Scalar) and root.value is None and root.text == "" and not root.bad:
            return None  # only comments, blank lines or a bare ---
        return root

    def _scalar(self, event: Any, at: LineCol) -> _Scalar:
        self._counted(at)
        text: str = event.value
        tag = event.tag
        if tag is None or tag == "!":
            tag = _RESOLVER.resolve(ScalarNode, text, event.implicit)
            explicit = False
        else:
            explicit = True
        if tag == _STR or (not explicit and tag in (_TIMESTAMP, _VALUE)):
            return _Scalar(text, text, at)
        if tag == _MERGE and not explicit:
            return _Scalar(text, text, at, is_merge=True)
        if tag == _NULL and not explicit:
            return _Scalar(None, text, at)
        if tag in (_NULL, _BOOL, _INT, _FLOAT):
            try:
                value = _construct(tag, text)
            except Exception:  # PyYAML raises assorted errors for bad explicit scalars
                self._error(f"{_q(text)} is not a valid !!{tag[len(_TAG) :]} value", at)
                return _Scalar(text, text, at, bad=True)
            if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
                return _Scalar(text, text, at)  # absurd integers stay text; the schema rejects them
            return _Scalar(value, text, at)
        self._error(f"unsupported YAML tag {_tag(tag)}; hossctl reads plain YAML only", at)
        return _Scalar(text, text, at, bad=True)

    def _attach(self, frame: _MapFrame | _SeqFrame, node: _Node) -> None:
        if isinstance(frame, _SeqFrame):
            frame.node.items.append(node)
            return
        if frame.pending is None:
            frame.pending = self._key(frame, node, node.at)
            return
        if frame.pending is not _SKIP:
            key, key_at, is_merge = frame.pending
            frame.node.pairs.append((key, key_at, is_merge, node))
        frame.pending = None

    def _key(self, frame: _MapFrame, node: _Node, at: LineCol) -> Any:
        target = node.target if isinstance(node, _Alias) else node
        if not isinstance(target, _Scalar):
            self._error("a mapping key must be plain text, not a list or mapping", at)
            return _SKIP
        if target.bad:
            return _SKIP
        key = target.text
        first = frame.seen.get(key)
        if first is not None:
            self._error(
                f"duplicate key {_q(key)}: it is already defined at line {first[0]}, column {first[1]}",
                at,
                "yaml-duplicate-key",
            )
            return _SKIP
        frame.seen[key] = at
        return (key, at, target.is_merge)

    # -- building ----------------------------------------------------------------------------
    def build(self, root: _Node) -> Any:
        self.limit = self.composed + MAX_ALIAS_NODES
        return self._build(root, (), None, 0)

    def _count(self, at: LineCol) -> None:
        self.built += 1
        if self.built > self.limit:
            raise _Fatal(
                f"aliases expand this document to more than {MAX_ALIAS_NODES:,} extra nodes; "
                "refusing to load it (a YAML bomb?)",
                self.alias_at or at,
            )

    def _build(self, node: _Node, path: PathKey, key_at: LineCol | None, depth: int) -> Any:
        at = node.at
        if isinstance(node, _Alias) and self.alias_at is None:
            self.alias_at = at
            try:
                return self._build_node(node.target, path, key_at, depth, at)
            finally:
                self.alias_at = None
        if isinstance(node, _Alias):
            node = node.target
        return self._build_node(node, path, key_at, depth, at)

    def _build_node(
        self,
        node: _Scalar | _Mapping | _Sequence,
        path: PathKey,
        key_at: LineCol | None,
        depth: int,
        at: LineCol,
    ) -> Any:
        self._count(at)
        if depth > MAX_DEPTH:
            raise _Fatal(
                f"nesting (with aliases expanded) is deeper than {MAX_DEPTH} levels; refusing it",
                self.alias_at or at,
            )
        packed_key = None if key_at is None else _pack(key_at)
        if isinstance(node, _Scalar):
            value = node.value
            self.spans[path] = (packed_key, _pack(at), None if isinstance(value, str) else node.text)
            if node.bad:
                self.bad_paths.add(path)
            return value
        self.spans[path] = (packed_key, _pack(at), None)
        if id(node) in self.bad_nodes:
            self.bad_paths.add(path)
        if isinstance(node, _Sequence):
            return [self._build(item, (*path, i), None, depth + 1) for i, item in enumerate(node.items)]
        result: dict[str, Any] = {}
        for key, (k_at, child) in self._pairs(node, depth).items():
            result[key] = self._build(child, (*path, key), k_at, depth + 1)
        return result

    def _pairs(self, node: _Mapping, depth: int) -> dict[str, tuple[LineCol, _Node]]:
        """The mapping's keys with ``<<`` merges applied: own keys win, then earlier merges."""
        if depth > MAX_DEPTH:
            raise _Fatal(f"merges (<<) nest deeper than {MAX_DEPTH} levels; refusing it", node.at)
        out: dict[str, tuple[LineCol, _Node]] = {}
        merges: list[tuple[LineCol, _Node]] = []
        for key, key_at, is_merge, child in node.pairs:
            if is_merge:
                merges.append((key_at, child))
            else:
                out[key] = (key_at, child)
        for key_at, child in merges:
            target = child.target if isinstance(child, _Alias) else child
            sources: list[_Node] = list(target.items) if isinstance(target, _Sequence) else [target]
            for source in sources:
                source = source.target if isinstance(source, _Alias) else source
                if not isinstance(source, _Mapping):
                    self._error("'<<' merges a mapping or a list of mappings, nothing else", key_at)
                    continue
                for key, value in self._pairs(source, depth + 1).items():
                    self._count(key_at)
                    out.setdefault(key, value)
        return out
