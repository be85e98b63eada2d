"""ObjectIDs inside values: the objects they name live as long as the values that hold them,
so a caller may drop its own ObjectIDs at once. An ID whose object is gone fails clearly."""

import gc
import pickle
import time

import pytest

import ray
from ray.exceptions import RayError


pytestmark = pytest.mark.usefixtures("ray_two_cpus")


@ray.remote
def get_first(ids):
    return ray.get(ids[0], timeout=30)


@ray.remote
def get_later(ids):
    time.sleep(0.3)  # the caller has long dropped its ObjectIDs by now
    return [ray.get(i, timeout=30) for i in ids]


@ray.remote
def make_nested(n):
    return [ray.put(i * 10) for i in range(n)]  # the task's own IDs die when it returns


def test_ids_inside_task_arguments_outlive_the_callers_ids():
    x = ray.put("kept")
    result = get_first.remote([x])
    del x
    gc.collect()
    assert ray.get(result, timeout=30) == "kept"
    ids = [ray.put(i) for i in range(5)]
    result = get_later.remote({"ids": ids}["ids"])
    del ids
    gc.collect()
    assert ray.get(result, timeout=30) == [0, 1, 2, 3, 4]


def test_ids_inside_a_put_value_live_as_long_as_it():
    inner = ray.put(b"inner")
    outer = ray.put({"ref": inner})
    del inner
    gc.collect()
    assert ray.get(ray.get(outer)["ref"], timeout=30) == b"inner"


def test_ids_returned_inside_a_task_result():
    refs = ray.get(make_nested.remote(3), timeout=30)
    assert ray.get(refs, timeout=30) == [0, 10, 20]
    # Nested two levels: a put value holding IDs of task results holding IDs.
    outer = ray.put([make_nested.remote(2)])
    gc.collect()
    assert ray.get(ray.get(ray.get(outer)[0]), timeout=30) == [0, 10]


def test_an_id_whose_object_is_gone_fails_at_once():
    x = ray.put(41)
    blob = pickle.dumps(x)  # bytes: they hold no reference
    del x
    gc.collect()
    stale = pickle.loads(blob)
    with pytest.raises(RayError, match="does not exist"):
        ray.get(stale, timeout=30)
    assert ray.get(ray.put(1)) == 1  # and nothing else is affected


@ray.remote
def get_and_wait_stale(blob):
    stale = pickle.loads(blob)
    ready, _ = ray.wait([stale], timeout=30)
    try:
        ray.get(stale)  # no timeout: it must not wait
    except RayError as e:
        return len(ready), str(e)
    return len(ready), "no error"


def test_an_id_whose_object_is_gone_fails_at_once_inside_a_task_too():
    x = ray.put(41)
    blob = pickle.dumps(x)
    del x
    gc.collect()
    ready, error = ray.get(get_and_wait_stale.remote(blob), timeout=60)
    assert ready == 1 and "does not exist" in error
