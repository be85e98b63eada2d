"""C++ functions called from Python: ray.cpp_function over the RAY_REMOTE functions of
libcpp_functions.so (cpp_functions.cc), loaded with ray.init(code_search_path=[...])."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ray
from ray import _raylet
from ray.exceptions import RayTaskError


def _library_dir():
    """The folder of libcpp_functions.so: in the test's runfiles, or bazel-bin by hand."""
    for folder in ("tests/python", "bazel-bin/tests/python"):
        if os.path.exists(os.path.join(folder, "libcpp_functions.so")):
            return os.path.abspath(folder)
    pytest.fail("libcpp_functions.so not found: bazel build //tests/python:libcpp_functions.so")


@pytest.fixture(scope="module", autouse=True)
def ray_with_cpp():
    ray.init(num_cpus=2, code_search_path=[_library_dir()])  # a folder: its *.so files load
    yield
    ray.shutdown()


def call(name, *args):
    return ray.get(ray.cpp_function(name).remote(*args))


def test_numbers_and_bools():
    assert call("add", 1, 2) == 3
    assert call("add", -5, 2) == -3
    assert call("scale", 1.5, 4) == 6.0
    result = call("scale", 2, 1.0)
    assert result == 2.0 and type(result) is float  # a whole double stays a float
    assert call("negate", True) is False
    assert call("sum", [2**40, -1, 3]) == 2**40 + 2
    assert call("max_u64") == 2**64 - 1


def test_strings_bytes_lists_dicts():
    assert call("greet", "ray") == "hello ray"
    assert call("greet", "héllo") == "hello héllo"
    assert call("doubled", [1.5, 2, -3]) == [3.0, 4.0, -6.0]
    assert call("doubled", (1.0,)) == [2.0]  # a tuple is a list
    assert call("doubled", []) == []
    assert call("word_lengths", ["a", "bcd"]) == {"a": 1, "bcd": 3}
    assert call("reversed_bytes", b"\x01\x02\x03") == b"\x03\x02\x01"
    assert call("reversed_bytes", bytearray(b"ab")) == b"ba"
    assert call("midpoint", [0.0, 0.0], [2.0, 4.0]) == [1.0, 2.0]  # a RAY_SERIALIZABLE struct
    assert call("positive", 5) == 5
    assert call("positive", -5) is None
    assert call("geometry::norm", [3, 4]) == 5.0


def test_numpy_scalars_are_numbers():
    assert call("add", np.int64(2), np.int32(3)) == 5
    assert call("scale", np.float32(1.5), np.float64(2)) == 3.0


def test_several_returns_none_and_options():
    quotient, remainder = ray.cpp_function("divide").remote(17, 5)
    assert ray.get([quotient, remainder]) == [3, "2"]
    assert call("nothing") is None
    assert ray.get(ray.cpp_function("add").options(num_cpus=0.5, max_retries=0).remote(1, 1)) == 2
    assert ray.get(ray.cpp_function("divide").options(num_returns=2).remote(4, 2)[0]) == 2
    with pytest.raises(ValueError, match="num_returns=3, but the function returns 2"):
        ray.cpp_function("divide").options(num_returns=3).remote(1, 1)


def test_object_ids_chain_cpp_and_python_tasks():
    three = ray.cpp_function("add").remote(1, 2)
    assert call("add", three, 10) == 13

    @ray.remote
    def double(x):
        return 2 * x

    assert ray.get(double.remote(three)) == 6  # a Python task reads a C++ result

    @ray.remote
    def calls_cpp(a, b):  # a C++ call submitted from a worker
        return ray.get(ray.cpp_function("greet").remote(f"{a}+{b}"))

    assert ray.get(calls_cpp.remote(1, 2)) == "hello 1+2"


def test_cpp_exception_is_a_task_error():
    with pytest.raises(RayTaskError) as info:
        call("fail", "boom 42")
    e = info.value
    assert e.exception_type == "std::invalid_argument"
    assert "boom 42" in str(e)
    assert "fail" in e.function_name


def test_text_from_cpp_that_is_not_utf8():
    # An exception's what() that is not UTF-8: the task error still, its bytes escaped.
    with pytest.raises(RayTaskError) as info:
        call("fail_latin1")
    e = info.value
    assert e.exception_type == "std::runtime_error" and "fail_latin1" in e.function_name
    assert "caf\\xe9 \\xff" in str(e)
    # So as a Python task's argument: the task that needed it fails with it.
    with pytest.raises(RayTaskError, match="caf"):
        ray.get(ray.remote(lambda x: x).remote(ray.cpp_function("fail_latin1").remote()))
    # A std::string result that is not UTF-8 cannot be a str: the error says why.
    with pytest.raises(UnicodeDecodeError, match=r"C\+\+ std::string, must be UTF-8"):
        call("latin1")


def test_ray_api_inside_a_cpp_function_works():
    assert call("uses_ray", 41) == 41
    assert call("sum_of_tasks", 10) == sum(range(1, 11))  # ten nested C++ tasks
    assert call("where") == ray.get_runtime_context().get_node_id()


def test_wrong_argument_types_fail_the_task_and_the_workers_live_on():
    workers = sorted(_raylet.worker_pids())
    with pytest.raises(RayTaskError) as info:
        call("add", "one", 2)
    assert "argument 0" in str(info.value) and "int" in str(info.value)
    with pytest.raises(RayTaskError, match="argument 0"):
        call("doubled", {"not": "a list"})
    with pytest.raises(RayTaskError, match="pickle"):  # ray.put values are pickled: not C++'s
        call("add", ray.put(1), 2)
    assert call("add", 1, 2) == 3
    assert sorted(_raylet.worker_pids()) == workers


def test_arguments_python_cannot_convert_fail_at_the_call():
    with pytest.raises(TypeError, match=r'ray.cpp_function\("add"\).remote: argument 0: .*set'):
        ray.cpp_function("add").remote({1, 2}, 3)
    with pytest.raises(OverflowError, match="argument 1"):
        ray.cpp_function("add").remote(1, 2**70)
    with pytest.raises(TypeError, match="takes 2 arguments, 3 given"):
        ray.cpp_function("add").remote(1, 2, 3)
    with pytest.raises(TypeError, match="positional arguments only"):
        ray.cpp_function("add").remote(a=1, b=2)
    with pytest.raises(TypeError, match="cannot be called directly"):
        ray.cpp_function("add")(1, 2)
    # A conversion error whose type does not take a message (UnicodeEncodeError: a lone
    # surrogate is not UTF-8) becomes a TypeError caused by it.
    with pytest.raises(TypeError, match="argument 0") as info:
        ray.cpp_function("greet").remote("\udc80")
    assert isinstance(info.value.__cause__, UnicodeEncodeError)
    # A name with a NUL is quoted whole.
    with pytest.raises(ValueError, match='no C\\+\\+ function named "add\x00junk"'):
        ray.cpp_function("add\x00junk").remote(1, 2)


def test_names_that_are_not_strs_or_utf8_are_clear_errors():
    with pytest.raises(ValueError, match="function name '.ud800' is not valid UTF-8"):
        ray.cpp_function("\ud800")
    with pytest.raises(ValueError, match="task option name '.udc80' is not valid UTF-8"):
        ray.cpp_function("add").options(name="\udc80")
    with pytest.raises(TypeError, match="task option name must be a str, got int"):
        ray.remote(lambda: 1).options(name=5)
    assert call("add", 1, 2) == 3


def test_a_cpp_call_starts_ray_as_python_tasks_do():
    # Not initialized: the call starts ray with the default arguments, as .remote() of a Python
    # function does; the library was loaded before.
    script = textwrap.dedent(f"""
        import ray
        ray.cross_language.load_code_search_path({_library_dir()!r})
        print(ray.get(ray.cpp_function("add").remote(1, 2)), ray.is_initialized())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, env=os.environ)
    assert out.stdout == "3 True\n", out.stderr


def test_unknown_name_names_the_loaded_libraries():
    with pytest.raises(ValueError) as info:
        ray.cpp_function("no_such_function").remote()
    message = str(info.value)
    assert 'no C++ function named "no_such_function"' in message
    assert "libcpp_functions.so" in message and "geometry::norm" in message


def test_libraries_load_before_init_only():
    with pytest.raises(RuntimeError, match="before the workers start"):
        ray.cross_language.load_code_search_path(_library_dir())


def test_bad_code_search_paths():
    script = textwrap.dedent(f"""
        import ray
        for path in ["/nonexistent/lib.so", {ray._raylet.__file__!r}]:
            try:
                ray.init(num_cpus=1, code_search_path=[path])
            except Exception as e:
                print(type(e).__name__, e)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, env=os.environ).stdout
    assert "FileNotFoundError ray.init: code_search_path: no such file" in out
    assert "ValueError" in out and "registers no C++ functions" in out


def test_the_graph_names_cpp_functions_by_their_registered_name(tmp_path):
    call("add", 1, 2)
    path = ray.visualize_computation_graph(str(tmp_path / "graph.dot"))
    assert 'label="add\\n' in open(path).read()
