"""Values defined inside functions round-trip through puts, arguments and results: dataclasses
with their fields, named tuples, enums."""

import collections
import dataclasses
import enum

import pytest

import ray


pytestmark = pytest.mark.usefixtures("ray_two_cpus")


def test_dataclass_defined_in_a_function_keeps_its_fields():
    @dataclasses.dataclass(frozen=True)
    class Point:
        x: int
        y: int = 0
        tags: list = dataclasses.field(default_factory=list)

    @ray.remote
    def moved(p):
        assert [f.name for f in dataclasses.fields(p)] == ["x", "y", "tags"]
        return dataclasses.replace(p, x=p.x + 1), dataclasses.asdict(p)

    point = Point(1, 2, ["a"])
    echo = ray.remote(lambda value: value)
    for back in [ray.get(ray.put(point)), ray.get(echo.remote(point))]:
        assert back == point and type(back) is Point
        assert [f.name for f in dataclasses.fields(back)] == ["x", "y", "tags"]
    shifted, as_dict = ray.get(moved.remote(point))
    assert shifted == Point(2, 2, ["a"]) and as_dict == {"x": 1, "y": 2, "tags": ["a"]}


def test_named_tuple_and_enum_defined_in_a_function():
    Pair = collections.namedtuple("Pair", ["left", "right"])

    class Color(enum.Enum):
        RED = 1
        GREEN = 2

    @ray.remote
    def swap(pair, color):
        return Pair(pair.right, pair.left), Color(color.value + 1), color is Color.RED

    pair, color, was_red = ray.get(swap.remote(Pair(1, "b"), Color.RED))
    assert pair == Pair("b", 1) and type(pair) is Pair and pair.left == "b"
    assert color is Color.GREEN and was_red
    assert ray.get(ray.put(Color.RED)) is Color.RED
