"""The 2016 Ray tutorial (seed/ray_tutorial_2016.md) in Python, section by section.

    .venv/bin/python examples/tutorial.py      # after `.venv/bin/pip install ./python`

    bazel build //python:pkg                   # or without installing
    PYTHONPATH=bazel-bin/python/pkg /usr/bin/python3 examples/tutorial.py

Prints what the tutorial prints, and checks it. (ray.visualize_computation_graph: not yet.)
"""

import time

import numpy as np

import ray


def show(expression, value, expected):
    print(f"{expression} -> {value!r}")
    assert value == expected, f"{expression}: expected {expected!r}"


ray.init(start_ray_local=True, num_workers=10)

# Immutable remote objects
x_id = ray.put([1, 2, 3])
print(f"ray.put([1, 2, 3]) -> {x_id}")
show("ray.get(x_id)", ray.get(x_id), [1, 2, 3])
result_ids = [ray.put(i) for i in range(10)]
show("ray.get(result_ids)", ray.get(result_ids), list(range(10)))


# Asynchronous computation
@ray.remote
def add(a, b):
    return a + b


x_id = add.remote(1, 2)
show("ray.get(add.remote(1, 2))", ray.get(x_id), 3)
show("add(1, put(2)), add(put(1), put(2))",
     ray.get([add.remote(1, ray.put(2)), add.remote(ray.put(1), ray.put(2))]), [3, 3])


@ray.remote(num_return_vals=3)
def return_multiple():
    return 0, 0.0, "zero"


a_id, b_id, c_id = return_multiple.remote()
show("return_multiple()", tuple(ray.get([a_id, b_id, c_id])), (0, 0.0, "zero"))


# Blocking computation
@ray.remote
def sleep(n):
    time.sleep(n)
    return 0


start = time.time()
result_ids = []
for i in range(10):
    result_ids.append(sleep.remote(2))
show("ray.get(result_ids)", ray.get(result_ids), [0] * 10)
elapsed = time.time() - start
print(f"ten sleep(2) tasks took {elapsed:.2f} s")
assert elapsed < 10


# Computation graphs encode dependencies
@ray.remote
def zeros(shape):
    return np.zeros(shape)


@ray.remote
def dot(a, b):
    return np.dot(a, b)


a_id = zeros.remote([10, 10])
b_id = zeros.remote([10, 10])
c_id = dot.remote(a_id, b_id)
c = ray.get(c_id)
show("dot(zeros([10, 10]), zeros([10, 10])).shape", c.shape, (10, 10))


# Remote functions within remote functions
@ray.remote
def sub_experiment(i, j):
    # Run the jth sub-experiment for the ith experiment.
    return i + j


@ray.remote
def run_experiment(i):
    sub_results = []
    # Launch tasks to perform 10 sub-experiments in parallel.
    for j in range(10):
        sub_results.append(sub_experiment.remote(i, j))
    # Return the sum of the results of the sub-experiments.
    return sum(ray.get(sub_results))


results = [run_experiment.remote(i) for i in range(5)]
show("ray.get(results)", ray.get(results), [45, 55, 65, 75, 85])
print("tutorial: done")
