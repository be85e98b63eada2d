"""The same misuse raises the same ray.exceptions type in local mode (in the driver and in a
task), in the driver of a node and in a task on its workers (the C++ API's counterpart:
tests/api/error_types_test.cc)."""

import gc
import pickle
import time

import numpy as np
import pytest

import ray
from ray.exceptions import GetTimeoutError, ObjectLostError, ObjectStoreFullError

STORE_BYTES = 64 << 20


@ray.remote
def sleep(seconds):
    time.sleep(seconds)


def get_of_an_object_that_is_gone(blob):
    ray.get(pickle.loads(blob), timeout=30)


def get_timeout(_):
    ray.get(sleep.remote(2), timeout=0.05)


def put_larger_than_the_store(_):
    ray.put(np.zeros(STORE_BYTES + (16 << 20), dtype=np.uint8))


# (misuse, the class it raises, words of its message, reachable in local mode)
CASES = [
    (get_of_an_object_that_is_gone, ObjectLostError, "does not exist", True),
    (get_timeout, GetTimeoutError, "timed out", False),  # local mode runs tasks at once
    (put_larger_than_the_store, ObjectStoreFullError, "capacity", False),  # no store
]


def caught(misuse, blob):
    """(class name, message) of what `misuse` raised."""
    try:
        misuse(blob)
    except Exception as e:  # noqa: BLE001: which one is the point
        return f"{type(e).__module__}.{type(e).__qualname__}", str(e)
    return "none", ""


@ray.remote
def caught_in_a_task(misuse, blob):
    return caught(misuse, blob)


def a_freed_object():
    """An ObjectID (pickled: bytes hold no reference) whose object is gone."""
    x = ray.put(41)
    blob = pickle.dumps(x)
    del x
    gc.collect()
    return blob


@pytest.mark.parametrize("runtime", ["local", "local_task", "driver", "task"])
def test_the_same_misuse_raises_the_same_error_type(runtime):
    local = runtime.startswith("local")
    ray.init(num_cpus=2, **({"local_mode": True} if local else
                            {"object_store_memory": STORE_BYTES}))
    try:
        for misuse, error, words, in_local_mode in CASES:
            if local and not in_local_mode:
                continue
            blob = a_freed_object()
            if runtime in ("local", "driver"):
                name, message = caught(misuse, blob)
            else:
                name, message = ray.get(caught_in_a_task.remote(misuse, blob), timeout=60)
            assert name == f"{error.__module__}.{error.__qualname__}", (misuse, message)
            assert words in message, (misuse, message)
    finally:
        ray.shutdown()
