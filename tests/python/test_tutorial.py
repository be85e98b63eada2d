"""The Python examples of the 2016 Ray tutorial (seed/ray_tutorial_2016.md), as written."""

import os
import time

import numpy as np
import pytest

import ray


@pytest.fixture(scope="module", autouse=True)
def ray_local():
    ray.init(start_ray_local=True, num_workers=10)
    yield
    ray.shutdown()


@ray.remote
def add(a, b):
    return a + b


@ray.remote(num_return_vals=3)
def return_multiple():
    return 0, 0.0, "zero"


@ray.remote
def sleep(n):
    time.sleep(n)
    return 0


@ray.remote
def zeros(shape):
    return np.zeros(shape)


@ray.remote
def dot(a, b):
    return np.dot(a, b)


@ray.remote
def sub_experiment(i, j):
    return i + j


@ray.remote
def run_experiment(i):
    sub_results = []
    for j in range(10):
        sub_results.append(sub_experiment.remote(i, j))
    return sum(ray.get(sub_results))


@ray.remote
def getpid():
    return os.getpid()


def test_put_get():
    x_id = ray.put([1, 2, 3])
    assert repr(x_id).startswith("ObjectID(") and x_id.hex() in repr(x_id)
    assert ray.get(x_id) == [1, 2, 3]


def test_get_list_of_puts():
    result_ids = [ray.put(i) for i in range(10)]
    assert ray.get(result_ids) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]


def test_add_with_values_and_ids():
    x_id = add.remote(1, 2)
    assert isinstance(x_id, ray.ObjectID)
    assert ray.get(x_id) == 3
    assert ray.get(add.remote(1, ray.put(2))) == 3
    assert ray.get(add.remote(ray.put(1), ray.put(2))) == 3
    assert ray.get(add.remote(add.remote(1, 2), 10)) == 13  # a task's result as an argument


def test_return_multiple():
    a_id, b_id, c_id = return_multiple.remote()
    assert ray.get(a_id) == 0
    assert ray.get(b_id) == 0.0 and isinstance(ray.get(b_id), float)
    assert ray.get(c_id) == "zero"


def test_ten_sleeps_in_parallel():
    start = time.time()
    result_ids = []
    for i in range(10):
        result_ids.append(sleep.remote(1))
    assert time.time() - start < 1.0  # submitting does not wait
    assert ray.get(result_ids) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert time.time() - start < 6.0  # 10 s one by one


def test_numpy_dependencies():
    a_id = zeros.remote([10, 10])
    b_id = zeros.remote([10, 10])
    c_id = dot.remote(a_id, b_id)
    c = ray.get(c_id)
    assert c.shape == (10, 10) and not c.any()


def test_nested_tasks():
    results = [run_experiment.remote(i) for i in range(5)]
    assert ray.get(results) == [45, 55, 65, 75, 85]


def test_workers_are_other_processes():
    pids = set(ray.get([getpid.remote() for _ in range(20)]))
    assert os.getpid() not in pids
    assert pids <= set(ray._raylet.worker_pids())
