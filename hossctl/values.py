"""Frozen value classes for the config model and the loader, without importing ``dataclasses``.

Why not ``@dataclass(frozen=True)``: ``hossctl validate`` of a small file has a budget of 100 ms
(issue 15), and ``import dataclasses`` alone took a fifth of it, because it imports ``inspect``
(with ``ast``, ``dis`` and ``tokenize``); each frozen dataclass then compiled six methods at
import (BENCHMARKS.md, "Start-up"). ``value`` gives the classes on that path the same behaviour
they had as frozen dataclasses: an ``__init__`` taking fields by position or keyword with their
defaults (``field(default=..., default_factory=..., compare=...)``), equality and hash over the
compared fields, a dataclass-style ``repr``, optional ordering, and no assignment after
``__init__``. ``replace`` and ``asdict`` do what their ``dataclasses`` namesakes do.
Only ``__init__`` is compiled, once per class; the other methods share one implementation.
``typing.dataclass_transform`` tells type checkers all this, and ``tests/unit/test_values.py``
compares every behaviour with a real dataclass twin.

Classes off the ``validate`` path (plans, the snapshot, the client) stay dataclasses.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")
_MISSING: Any = object()
_FIELDS = "__value_fields__"


class FrozenInstanceError(AttributeError):
    """Assigning to or deleting a field of a value, as ``dataclasses.FrozenInstanceError``."""


class _Field:
    __slots__ = ("compare", "default", "default_factory")

    def __init__(self, default: Any, default_factory: Any, compare: bool) -> None:
        self.default = default
        self.default_factory = default_factory
        self.compare = compare


@overload
def field(*, default: T, compare: bool = True) -> T: ...


@overload
def field(*, default_factory: Callable[[], T], compare: bool = True) -> T: ...


def field(*, default: Any = _MISSING, default_factory: Any = _MISSING, compare: bool = True) -> Any:
    """A field's default (or a factory for one) and whether equality and hashing consider it."""
    return _Field(default, default_factory, compare)


@overload
def value(cls: type[T], /) -> type[T]: ...


@overload
def value(*, order: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def value(cls: type[T] | None = None, /, *, order: bool = False) -> Any:
    """Make ``cls`` a frozen value class from its annotated fields, in their order."""

    def make(target: type[T]) -> type[T]:
        return _build(target, order)

    return make if cls is None else make(cls)


def _build(cls: type[T], order: bool) -> type[T]:
    """Every annotation of the class body is a field; a value neither inherits fields nor is
    subclassed into a value (nothing here needs it, and silently dropping fields would be worse)."""
    if any(hasattr(base, _FIELDS) for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__qualname__}: a value class cannot extend another one")
    annotations: dict[str, Any] = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - no inspect
    if any(str(kind).startswith(("ClassVar", "typing.ClassVar")) for kind in annotations.values()):
        raise TypeError(f"{cls.__qualname__}: ClassVar annotations are not supported by values.value")
    names = tuple(annotations)
    specs: dict[str, _Field] = {}
    for name in names:
        declared = cls.__dict__.get(name, _MISSING)
        spec = declared if isinstance(declared, _Field) else _Field(declared, _MISSING, True)
        specs[name] = spec
        if isinstance(declared, _Field):  # the class attribute becomes the plain default, or goes
            if spec.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, spec.default)
    compared = tuple(name for name in names if specs[name].compare)
    key: Callable[[Any], tuple[Any, ...]] = (
        attrgetter(*compared) if len(compared) > 1 else lambda obj: tuple(getattr(obj, n) for n in compared)
    )
    namespace: dict[str, Any] = {
        "__init__": _init(cls, names, specs),
        _FIELDS: names,
        "__match_args__": names,
        "__repr__": _repr,
        "__eq__": _comparison(key, lambda a, b: a == b),
        "__hash__": lambda self: hash(key(self)),
        "__setattr__": _frozen_setattr,
        "__delattr__": _frozen_delattr,
    }
    if order:
        namespace.update(
            __lt__=_comparison(key, lambda a, b: a < b),
            __le__=_comparison(key, lambda a, b: a <= b),
            __gt__=_comparison(key, lambda a, b: a > b),
            __ge__=_comparison(key, lambda a, b: a >= b),
        )
    for attribute, implementation in namespace.items():
        setattr(cls, attribute, implementation)
    return cls


def _init(cls: type, names: tuple[str, ...], specs: dict[str, _Field]) -> Callable[..., None]:
    """``__init__`` compiled for the class, as fast per object as a dataclass's own."""
    scope: dict[str, Any] = {"_set": object.__setattr__, "_MISSING": _MISSING}
    params, body = ["self"], []
    for name in names:
        spec = specs[name]
        if spec.default_factory is not _MISSING:
            scope[f"_factory_{name}"] = spec.default_factory
            params.append(f"{name}=_MISSING")
            body.append(f"  _set(self, {name!r}, _factory_{name}() if {name} is _MISSING else {name})")
            continue
        if spec.default is not _MISSING:
            scope[f"_default_{name}"] = spec.default
            params.append(f"{name}=_default_{name}")
        elif len(params) > 1 and "=" in params[-1]:
            raise TypeError(f"{cls.__qualname__}: field {name!r} has no default but follows one that has")
        else:
            params.append(name)
        body.append(f"  _set(self, {name!r}, {name})")
    source = f"def __init__({', '.join(params)}):\n" + ("\n".join(body) or "  pass") + "\n"
    exec(source, scope)  # the source is built above from the class's own field names
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _repr(self: Any) -> str:
    fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in getattr(type(self), _FIELDS))
    return f"{type(self).__qualname__}({fields})"


def _comparison(key: Callable[[Any], Any], compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    def method(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return compare(key(self), key(other))
        return NotImplemented

    return method


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of the value ``obj`` with some fields changed, as ``dataclasses.replace``."""
    names = getattr(type(obj), _FIELDS, None)
    if names is None:
        raise TypeError("replace() should be called on value instances")
    kept = {name: getattr(obj, name) for name in names if name not in changes}
    return type(obj)(**kept, **changes)


def asdict(obj: Any) -> dict[str, Any]:
    """The value ``obj`` as nested dicts, lists and tuples, as ``dataclasses.asdict`` makes them."""
    if getattr(type(obj), _FIELDS, None) is None:
        raise TypeError("asdict() should be called on value instances")
    result: dict[str, Any] = _plain(obj)
    return result


def _plain(obj: Any) -> Any:
    names = getattr(type(obj), _FIELDS, None)
    if names is not None:
        return {name: _plain(getattr(obj, name)) for name in names}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*[_plain(item) for item in obj])
    if isinstance(obj, list | tuple):
        return type(obj)(_plain(item) for item in obj)
    if isinstance(obj, dict):
        return type(obj)((_plain(k), _plain(v)) for k, v in obj.items())
    import copy

    return copy.deepcopy(obj)
