"""The 2016 Ray tutorial (seed/ray_tutorial_2016.md) in Python, section by section.

    .venv/bin/python examples/tutorial.py [out_dir]   # after `.venv/bin/pip install ./python`

    bazel build //python:pkg                          # or without installing
    PYTHONPATH=bazel-bin/python/pkg /usr/bin/python3 examples/tutorial.py [out_dir]

Prints what the tutorial prints, and checks it. The computation graphs it draws go to out_dir
(default: the current directory): compgraph1.svg (the ten sleeps), compgraph2.svg (zeros and
dot), compgraph3.svg (with the nested experiments), each with its .dot source, and
timeline.json.
"""

import os
import sys
import time

import numpy as np

import ray


def show(expression, value, expected):
    print(f"{expression} -> {value!r}")
    assert value == expected, f"{expression}: expected {expected!r}"


def visualize(name):
    """The tutorial's ray.visualize_computation_graph(view=True), into out_dir."""
    for ext in (".dot", ".svg"):
        path = os.path.join(out_dir, name + ext)
        ray.visualize_computation_graph(path, view=ext == ".svg")
        assert os.path.getsize(path) > 0


out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out_dir, exist_ok=True)
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


# Blocking computation. A fresh session, so that the computation graph below holds just this
# section, as the tutorial's picture does.
ray.shutdown()
ray.init(start_ray_local=True, num_workers=10)


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

# Visualizing the computation graph: op-root launched ten tasks, each made one object.
visualize("compgraph1")
dot_source = open(os.path.join(out_dir, "compgraph1.dot")).read()
assert dot_source.count("style=dotted") == 10 and dot_source.count("shape=ellipse") == 10
ray.shutdown()
ray.init(start_ray_local=True, num_workers=10)


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
visualize("compgraph2")


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
visualize("compgraph3")
ray.timeline(os.path.join(out_dir, "timeline.json"))
print("tutorial: done")
