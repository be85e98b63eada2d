"""C++ functions called from a Python driver whose tasks run on other nodes of a cluster: the
libraries of ray.init(code_search_path=[...]) reach the Python workers every node starts, which
run them (and the C++ tasks they submit) as workers of the driver's node do."""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import ray
from test_cluster import head, start_node  # noqa: F401 (head is a fixture)
from test_cross_language import _library_dir


@pytest.fixture
def cluster(head):  # noqa: F811
    """The head and two nodes, with a_box and b_box; this driver joined with the C++ library."""
    nodes = {"a": start_node(head, {"a_box": 2}), "b": start_node(head, {"b_box": 2})}
    ray.init(address=head, num_cpus=1, object_store_memory=64 << 20,
             code_search_path=[_library_dir()])
    return nodes


def on(box, name):
    return ray.cpp_function(name).options(resources={box: 1})


def test_cpp_functions_run_on_the_node_they_ask_for(cluster):
    assert ray.get(on("a_box", "where").remote()) == cluster["a"]
    assert ray.get(on("b_box", "where").remote()) == cluster["b"]
    assert ray.get(on("a_box", "add").remote(1, 2)) == 3
    assert ray.get(on("b_box", "greet").remote("ray")) == "hello ray"
    quotient, remainder = on("a_box", "divide").remote(17, 5)
    assert ray.get([quotient, remainder]) == [3, "2"]


def test_a_cpp_result_on_one_node_is_read_on_another(cluster):
    three = on("a_box", "add").remote(1, 2)
    assert ray.get(on("b_box", "add").remote(three, 10)) == 13

    @ray.remote
    def double(x):
        return 2 * x, ray.get_runtime_context().get_node_id()

    assert ray.get(double.options(resources={"b_box": 1}).remote(three)) == (6, cluster["b"])


def test_cpp_functions_on_another_node_call_ray(cluster):
    assert ray.get(on("a_box", "uses_ray").remote(41)) == 41
    assert ray.get(on("b_box", "sum_of_tasks").remote(10)) == sum(range(1, 11))


@ray.remote
def calls_cpp_on(box):
    """From a Python task, a C++ function by name on the node with `box`."""
    return (ray.get_runtime_context().get_node_id(), ray.get(on(box, "where").remote()),
            ray.get(on(box, "greet").remote("node")))


def test_a_python_task_on_one_node_calls_cpp_on_another(cluster):
    assert ray.get(calls_cpp_on.options(resources={"a_box": 1}).remote("b_box")) == (
        cluster["a"], cluster["b"], "hello node")


def test_cpp_errors_on_another_node_are_task_errors(cluster):
    with pytest.raises(ray.exceptions.RayTaskError) as info:
        ray.get(on("a_box", "fail").remote("boom 42"))
    assert info.value.exception_type == "std::invalid_argument" and "boom 42" in str(info.value)
    assert ray.get(on("a_box", "where").remote()) == cluster["a"]  # the worker lives on




def test_a_cpp_actor_runs_on_the_node_it_asks_for(cluster):
    counter_class = ray.cpp_actor_class("CreateCounter", "Counter")
    counter = counter_class.options(resources={"a_box": 1}).remote(10)
    assert ray.get(counter.Node.remote()) == cluster["a"]
    assert ray.get(counter.Add.remote(5)) == 15
    # A Python task on node B calls it through its handle.
    @ray.remote
    def add_through(handle, x):
        return ray.get(handle.Add.remote(x))

    assert ray.get(add_through.options(resources={"b_box": 1}).remote(counter, 1)) == 16


def test_a_node_that_cannot_read_the_library_runs_the_drivers_copy(head, tmp_path):  # noqa: F811
    """The library ships with the driver's program: a node whose workers start after its file is
    gone (as on a machine without it) still runs its functions. Workers start at the first task
    a node gets. In a driver of its own: a process keeps the libraries it loaded."""
    node = start_node(head, {"a_box": 1})
    folder = tmp_path / "cpp"
    folder.mkdir()
    shutil.copyfile(os.path.join(_library_dir(), "libcpp_functions.so"),
                    folder / "libcpp_functions.so")
    script = textwrap.dedent(f"""
        import shutil
        import ray
        ray.init(address={head!r}, num_cpus=1, object_store_memory=64 << 20,
                 code_search_path=[{str(folder)!r}])
        shutil.rmtree({str(folder)!r})
        where = ray.cpp_function("where").options(resources={{"a_box": 1}}).remote()
        add = ray.cpp_function("add").options(resources={{"a_box": 1}}).remote(2, 3)
        print(ray.get([where, add], timeout=60))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=90, env=os.environ)
    assert run.stdout.strip() == str([node, 5]), run.stderr
