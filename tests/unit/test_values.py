"""``hossctl.values`` behaves as the frozen dataclasses it stands in for, checked against twins.

Each value class here has a real ``@dataclass(frozen=True)`` twin with the same fields,
defaults and options; every behaviour the model relies on (construction, defaults and
factories, equality and hashing without the ``compare=False`` fields, ``repr``, ordering,
immutability, ``replace`` and ``asdict``) must give the same answer for both.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from functools import cached_property
from typing import Any, ClassVar

import pytest
from depth import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from hossctl.values import FrozenInstanceError, asdict, field, replace, value


@value(order=True)
class Spot:
    file: str
    line: int
    column: int


@dataclasses.dataclass(frozen=True, order=True)
class SpotTwin:
    file: str
    line: int
    column: int


@value
class Item:
    name: str
    tags: tuple[str, ...] = ()
    spot: Spot | None = field(default=None, compare=False)
    seen: frozenset[str] = field(default_factory=frozenset)
    count: int = 0

    @cached_property
    def upper(self) -> str:
        return self.name.upper()


@dataclasses.dataclass(frozen=True)
class ItemTwin:
    name: str
    tags: tuple[str, ...] = ()
    spot: SpotTwin | None = dataclasses.field(default=None, compare=False)
    seen: frozenset[str] = dataclasses.field(default_factory=frozenset)
    count: int = 0


def twin(obj: Any) -> Any:
    """The dataclass twin of a value, field by field."""
    if isinstance(obj, Spot):
        return SpotTwin(obj.file, obj.line, obj.column)
    if isinstance(obj, Item):
        return ItemTwin(obj.name, obj.tags, None if obj.spot is None else twin(obj.spot), obj.seen, obj.count)
    raise TypeError(obj)


spots = st.builds(Spot, st.sampled_from(["a.yaml", "b.yaml"]), st.integers(0, 3), st.integers(0, 3))
items = st.builds(
    Item,
    st.sampled_from(["x", "y"]),
    st.lists(st.sampled_from(["t", "u"]), max_size=2).map(tuple),
    st.none() | spots,
    st.frozensets(st.sampled_from(["s", "r"]), max_size=2),
    st.integers(0, 2),
)
SETTINGS = settings(max_examples=examples(300), deadline=None)


@SETTINGS
@given(a=items, b=items)
def test_equality_and_hashing_are_the_dataclass_ones(a: Item, b: Item) -> None:
    assert (a == b) == (twin(a) == twin(b))
    assert (a != b) == (twin(a) != twin(b))
    if a == b:
        assert hash(a) == hash(b)
    assert hash(a) == hash(twin(a))  # the same tuple of compared fields is hashed


@SETTINGS
@given(a=spots, b=spots)
def test_ordering_is_the_dataclass_one(a: Spot, b: Spot) -> None:
    for compare in (lambda x, y: x < y, lambda x, y: x <= y, lambda x, y: x > y, lambda x, y: x >= y):
        assert compare(a, b) == compare(twin(a), twin(b))


@SETTINGS
@given(item=items)
def test_repr_replace_and_asdict_are_the_dataclass_ones(item: Item) -> None:
    assert repr(item).replace("Spot(", "SpotTwin(").replace("Item(", "ItemTwin(", 1) == repr(twin(item))
    changed = replace(item, name="z", spot=Spot("c.yaml", 9, 9))
    assert twin(changed) == dataclasses.replace(twin(item), name="z", spot=SpotTwin("c.yaml", 9, 9))
    assert changed.tags is item.tags and item.name in ("x", "y")  # the original is untouched
    assert asdict(item) == dataclasses.asdict(twin(item))


def test_construction_defaults_and_factories() -> None:
    assert Item("n") == Item(name="n", tags=(), seen=frozenset(), count=0)
    assert Item("n", ("t",), None, frozenset({"s"}), 2).count == 2
    assert Item("n").seen == ItemTwin("n").seen == frozenset()
    with pytest.raises(TypeError):
        Item()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Item("n", bogus=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        replace(Item("n"), bogus=1)
    with pytest.raises(TypeError):
        replace(ItemTwin("n"), name="m")  # a dataclass is not a value
    with pytest.raises(TypeError):
        asdict(ItemTwin("n"))
    assert Item.__match_args__ == ("name", "tags", "spot", "seen", "count")


def test_values_are_immutable_but_cached_properties_work() -> None:
    item = Item("n")
    with pytest.raises(FrozenInstanceError):
        item.name = "m"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del item.name  # type: ignore[misc]
    with pytest.raises(AttributeError):
        item.other = 1  # type: ignore[attr-defined]
    assert item.upper == "N" and item.upper == "N"
    assert item == Item("n")  # a cached property is not a field


def test_a_field_without_a_default_after_one_with_a_default_is_refused() -> None:
    with pytest.raises(TypeError, match="has no default"):

        @value
        class Broken:
            a: int = 0
            b: int  # type: ignore[misc]


def test_what_values_do_not_support_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot extend"):

        @value
        class Longer(Spot):  # type: ignore[misc]
            extra: int = 0

    with pytest.raises(TypeError, match="ClassVar"):

        @value
        class Counted:
            total: ClassVar[int] = 0


def test_validate_imports_neither_dataclasses_nor_inspect() -> None:
    """The point of this module: ``hossctl validate``'s start-up (BENCHMARKS.md, issue 15)."""
    code = (
        "import sys; sys.argv = ['hossctl', 'validate', '-f', sys.argv[1]]\n"
        "from hossctl.launch import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('click', 'dataclasses', 'inspect', 'jsonschema') if m in sys.modules))"
    )
    from pathlib import Path

    config = Path(__file__).resolve().parents[2] / "examples" / "two-servers-duplex"
    out = subprocess.run([sys.executable, "-c", code, str(config)], capture_output=True, text=True)
    assert out.stdout.splitlines()[-1] == "[]", out.stdout + out.stderr
