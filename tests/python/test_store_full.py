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


def test_referenced_results_are_kept_and_what_does_not_fit_fails_without_a_hang():
    # More results than the store holds, every ref kept. Before, the first results were
    # evicted and ray.get(refs, timeout=30) never returned.
    refs = [make.remote(16 << 20) for _ in range(10)]
    with pytest.raises(ObjectStoreFullError):
        ray.get(refs, timeout=60)
    fitted = 0
    for ref in refs:
        try:
            assert ray.get(ref, timeout=60).nbytes == 16 << 20
            fitted += 1
        except ObjectStoreFullError:
            pass
    assert 1 <= fitted <= 3  # 4 x 16 MiB and headers do not fit in 64 MiB
    # Freeing the refs makes room at once.
    del refs, ref
    assert ray.get(make.remote(16 << 20), timeout=60).nbytes == 16 << 20


def test_a_put_that_does_not_fit_beside_referenced_objects_fails_and_they_stay():
    kept = [ray.put(np.full(20 << 20, i, dtype=np.uint8)) for i in range(2)]
    with pytest.raises(ObjectStoreFullError):
        ray.put(np.zeros(30 << 20, dtype=np.uint8))
    assert [int(ray.get(r, timeout=10)[-1]) for r in kept] == [0, 1]
    del kept
    assert ray.get(ray.put(np.ones(30 << 20, dtype=np.uint8)), timeout=10).sum() == 30 << 20
