"""Objects larger than the store: a clear ray.exceptions.ObjectStoreFullError wherever they are
made (put, task argument, task result), and the node keeps working."""

import numpy as np
import pytest

import ray
from ray.exceptions import ObjectStoreFullError, RayTaskError


@pytest.fixture(scope="module", autouse=True)
def small_store():
    ray.init(num_cpus=1, object_store_memory=64 << 20)
    yield
    ray.shutdown()


TOO_BIG = 100 << 20  # bytes


@ray.remote
def make(n):
    return np.zeros(n, dtype=np.uint8)


@ray.remote
def nbytes(a):
    return a.nbytes


def test_put_of_an_object_larger_than_the_store():
    with pytest.raises(ObjectStoreFullError, match="capacity"):
        ray.put(np.zeros(TOO_BIG, dtype=np.uint8))
    assert ray.get(ray.put(np.ones(4))).sum() == 4


def test_argument_larger_than_the_store_fails_at_the_call():
    with pytest.raises(ObjectStoreFullError):
        nbytes.remote(np.zeros(TOO_BIG, dtype=np.uint8))
    assert ray.get(nbytes.remote(np.zeros(1 << 20, dtype=np.uint8))) == 1 << 20


def test_result_larger_than_the_store_is_a_task_error_of_that_type():
    with pytest.raises(ObjectStoreFullError) as info:
        ray.get(make.remote(TOO_BIG), timeout=60)
    assert isinstance(info.value, RayTaskError)
    assert info.value.function_name == "make"
    assert ray.get(make.remote(10)).shape == (10,)  # the worker lives on
