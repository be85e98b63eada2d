"""The ray Python API beyond the tutorial: errors, options, wait, timeouts, values."""

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import ray
from process_waits import alive
from ray.exceptions import GetTimeoutError, RayError, RayTaskError


@pytest.fixture(scope="module", autouse=True)
def ray_local():
    ray.init(num_cpus=4)
    yield
    ray.shutdown()


class CustomError(Exception):
    def __init__(self, a, b):  # not the (message) signature
        super().__init__(f"custom {a} {b}")


@ray.remote
def fail(message):
    raise ValueError(message)


@ray.remote
def fail_custom():
    raise CustomError(1, 2)


@ray.remote
def identity(x):
    return x


@ray.remote
def get_inside(x_id):
    return ray.get(x_id)


@ray.remote
def sleep(n):
    time.sleep(n)
    return n


def test_exception_is_reraised_with_remote_message_and_traceback():
    result = fail.remote("boom 42")
    with pytest.raises(ValueError) as info:
        ray.get(result)
    e = info.value
    assert e.task_id == result.hex()[:40]  # an object ID is its task's ID and an index
    assert isinstance(e, RayTaskError) and isinstance(e, RayError)
    assert "boom 42" in str(e)
    # As Ray prints it: where the task ran, then the remote traceback.
    assert str(e).startswith(f"ray::fail() (pid={e.pid}, ip=")
    assert ", in fail\n    raise ValueError(message)\nValueError: boom 42" in str(e)
    assert e.function_name.endswith("fail")
    assert e.exception_type == "ValueError"
    assert e.pid != os.getpid()
    assert len(e.task_id) == 40  # the worker fills in the task ID


def test_exception_of_user_type():
    with pytest.raises(CustomError) as info:
        ray.get(fail_custom.remote())
    assert isinstance(info.value, RayTaskError)
    assert "custom 1 2" in str(info.value)


def test_error_propagates_to_dependents_and_nested_gets():
    failed = fail.remote("first failure")
    with pytest.raises(ValueError, match="first failure") as downstream:
        ray.get(identity.remote(failed))  # does not run: its argument is an error
    e = downstream.value
    assert e.function_name.endswith("identity")
    assert str(e).startswith("ray::identity()\n  At least one of the input arguments for this "
                             "task could not be computed:\nray.exceptions.RayTaskError("
                             "ValueError): ray::fail() (pid=")
    assert e.cause.function_name.endswith("fail") and e.cause.args == ("first failure",)
    assert e.args == ("first failure",)
    with pytest.raises(ValueError, match="first failure") as nested:
        ray.get(get_inside.remote([failed]))  # raises inside a task: chained to its error
    e = nested.value
    assert e.function_name.endswith("get_inside")
    assert isinstance(e.cause, ValueError) and e.cause.function_name.endswith("fail")
    text = str(e)
    assert text.startswith("ray::get_inside() (pid=")
    assert "return ray.get(x_id)" in text  # the remote traceback of get_inside, then fail's
    assert text.index("ray::get_inside()") < text.index("ray::fail()")
    assert text.endswith("raise ValueError(message)\nValueError: first failure")


def test_worker_killed_mid_task():
    @ray.remote(max_retries=0)
    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(ray.exceptions.WorkerCrashedError):
        ray.get(die.remote(), timeout=30)
    assert ray.get(identity.remote("still works")) == "still works"


def test_worker_killed_mid_task_is_retried(tmp_path):
    marker = tmp_path / "died-once"

    @ray.remote(max_retries=1)
    def die_once():
        if not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return os.getpid()

    pid = ray.get(die_once.remote(), timeout=30)
    assert marker.exists() and pid != os.getpid()


def test_max_retries_minus_one_retries_without_limit(tmp_path):
    @ray.remote(max_retries=-1)  # as Ray: -1 retries after every crash
    def die_five_times():
        runs = len(list(tmp_path.iterdir()))
        if runs < 5:  # more than the default max_retries (3)
            (tmp_path / f"run{runs}").touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return runs

    assert ray.get(die_five_times.remote(), timeout=60) == 5


def test_task_options_past_their_limits_are_refused_as_in_cpp():
    """The limits and messages of ray/core_worker/limits.h (tests/api/api_test.cc checks C++'s)."""
    def f():
        return 1

    cases = [
        ({"num_returns": 10**9}, "num_returns = 1000000000: a task returns from 1 to 10000 objects"),
        ({"num_returns": 10**20},
         "num_returns = 100000000000000000000: a task returns from 1 to 10000 objects"),
        ({"num_returns": 0}, "num_returns = 0: a task returns from 1 to 10000 objects"),
        ({"max_retries": -5}, "max_retries = -5: it must be >= 0, or -1 to retry without limit"),
        ({"num_cpus": 1e9}, "num_cpus = 1e+09: a task asks for 0 to 65536 CPUs (one that asks "
                            "for more than the node has runs when all of them are free)"),
        ({"num_cpus": float("nan")}, "num_cpus = nan: "),
        ({"num_cpus": -1}, "num_cpus = -1: "),
    ]
    for options, message in cases:
        for make in (lambda: ray.remote(**options)(f), lambda: ray.remote(f).options(**options)):
            with pytest.raises(ValueError) as raised:
                make()
            assert str(raised.value).startswith(f"test_task_options_past_their_limits_are_refused_"
                                                f"as_in_cpp.<locals>.f: {message}"), raised.value
    for options in ({"num_returns": 2.0}, {"max_retries": "3"}, {"num_cpus": True}):
        with pytest.raises(TypeError, match="must be an int|must be a number"):
            ray.remote(**options)(f)
    assert ray.get(ray.remote(f).options(num_returns=1, num_cpus=0.5, max_retries=0).remote()) == 1


def test_wrong_number_of_returns_is_a_task_error():
    f = ray.remote(num_returns=2)(lambda: 1)
    a, b = f.remote()
    with pytest.raises(RayTaskError, match="num_returns=2"):
        ray.get(a)


def test_num_returns_and_options():
    @ray.remote(num_returns=2)
    def two():
        return "a", "b"

    assert ray.get(two.remote()) == ["a", "b"]
    three = two.options(num_returns=3)
    with pytest.raises(RayTaskError):
        ray.get(three.remote())
    pair = ray.remote(lambda: (1, 2)).options(num_returns=2).remote()
    assert ray.get(pair) == [1, 2]


def test_kwargs_closures_lambdas():
    offset = 100

    @ray.remote
    def f(a, b=1, *, c=2):
        return a + b + c + offset

    assert ray.get(f.remote(1)) == 104
    assert ray.get(f.remote(1, b=ray.put(10), c=20)) == 131
    square = ray.remote(lambda x: x * x)
    assert ray.get([square.remote(i) for i in range(5)]) == [0, 1, 4, 9, 16]


def test_object_ids_inside_values():
    x = ray.put("inner")
    assert ray.get(get_inside.remote([x])) == ["inner"]
    assert ray.get(pickle.loads(pickle.dumps(x))) == "inner"
    assert pickle.loads(pickle.dumps(x)) == x and hash(x) == hash(pickle.loads(pickle.dumps(x)))


def test_values_round_trip():
    import numpy as np

    values = [None, True, 1 << 80, 1.5, "text", b"bytes", (1, [2, {3: "4"}]), {"k": {1, 2}},
              np.arange(12).reshape(3, 4), bytes(300_000)]
    for v in values:
        got = ray.get(ray.put(v))
        if isinstance(v, np.ndarray):
            assert (got == v).all()
        else:
            assert got == v
        got = ray.get(identity.remote(v))
        assert (got == v).all() if isinstance(v, np.ndarray) else got == v


def test_wait():
    fast = identity.remote(1)
    slow = sleep.remote(3)
    ready, not_ready = ray.wait([slow, fast], num_returns=1, timeout=2)
    assert ready == [fast] and not_ready == [slow]
    ready, not_ready = ray.wait([fast], num_returns=1)
    assert ready == [fast] and not_ready == []
    with pytest.raises(ValueError):
        ray.wait([fast], num_returns=2)


def test_get_timeout():
    slow = sleep.remote(2)
    start = time.time()
    with pytest.raises(GetTimeoutError):
        ray.get(slow, timeout=0.2)
    assert time.time() - start < 1.5
    assert ray.get(slow) == 2


def test_wrong_use():
    with pytest.raises(TypeError, match="remote"):
        identity(1)
    with pytest.raises(TypeError):
        ray.get(1)
    with pytest.raises(RuntimeError, match="already initialized"):
        ray.init()
    ray.init(ignore_reinit_error=True)
    gpu_task = ray.remote(num_gpus=1)(lambda: 1)  # defined, but cannot run here
    with pytest.raises(ValueError, match="GPUs"):
        gpu_task.remote()
    assert ray.get(identity.remote(lambda: 7))() == 7  # cloudpickle pickles lambdas
    # Unpicklable argument: a clear error at the call.
    with pytest.raises(TypeError, match="serialize"):
        identity.remote(_Unpicklable())


class _Unpicklable:
    def __reduce__(self):
        raise TypeError("no pickling here")


@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_everything_stops_with_the_driver(how):
    script = textwrap.dedent(f"""
        import os, signal, sys, time, ray
        ray.init(num_workers=2)
        f = ray.remote(lambda: os.getpid())
        ray.get([f.remote() for _ in range(4)])
        print(*(ray._raylet.worker_pids() + ray._raylet.node_pids()), flush=True)
        if "{how}" == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, env=os.environ)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) >= 4, out
    deadline = time.time() + 5
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if alive(p)]


def test_ctrl_c_interrupts_the_driver_not_the_node():
    # Ctrl-C in a terminal signals the whole foreground process group: here, the driver's own
    # session, signalled with killpg as the terminal would.
    script = textwrap.dedent("""
        import os, signal, sys, time, ray
        ray.init(num_workers=2)
        f = ray.remote(lambda x: x + 1)
        assert ray.get(f.remote(1)) == 2
        try:
            os.killpg(os.getpgrp(), signal.SIGINT)
            time.sleep(30)
            sys.exit("no KeyboardInterrupt")
        except KeyboardInterrupt:
            pass
        assert ray.get([f.remote(i) for i in range(10)], timeout=30) == list(range(1, 11))
        assert ray.get(ray.put("store alive"), timeout=30) == "store alive"
        print("ok", flush=True)
        """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, env=os.environ, start_new_session=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out


@pytest.mark.parametrize("call", ["ray.get(slow.remote())", "ray.wait([slow.remote()])"])
def test_ctrl_c_interrupts_a_blocked_get_or_wait(call):
    script = textwrap.dedent(f"""
        import os, signal, threading, time, ray
        ray.init(num_workers=1)

        @ray.remote
        def slow():
            time.sleep(600)

        threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        try:
            {call}
            print("returned")
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, env=os.environ)
    assert out.returncode == 0 and out.stdout.strip() == "interrupted", out


def test_task_output_reaches_the_driver_line_by_line_with_the_task_before_it():
    script = textwrap.dedent("""
        import os, sys, ray
        ray.init(num_workers=1)

        @ray.remote
        def say(text):
            print(text)
            print("no newline", end="")
            sys.stderr.write("to stderr\\n")
            return os.getpid()

        pid = ray.get(say.remote("hello\\nworld"))
        print("driver", pid, flush=True)
        """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, env=os.environ)
    assert out.returncode == 0, out
    pid = out.stdout.split("driver ")[1].strip()
    assert f"(say pid={pid}) hello\n(say pid={pid}) world\n(say pid={pid}) no newline\n" in out.stdout
    assert f"(say pid={pid}) to stderr\n" in out.stderr


def test_odd_task_failures_are_task_errors_and_the_worker_lives_on():
    class BadStr(Exception):
        def __str__(self):
            raise RuntimeError("no str")

    @ray.remote(max_retries=0)
    def fails_oddly(how):
        if how == "exit":
            sys.exit(3)
        if how == "interrupt":
            raise KeyboardInterrupt()
        raise BadStr()

    for how, cause in [("exit", SystemExit), ("interrupt", KeyboardInterrupt), ("str", None)]:
        with pytest.raises(RayTaskError) as info:
            ray.get(fails_oddly.remote(how), timeout=30)
        assert info.value.function_name.endswith("fails_oddly"), info.value
        if cause is not None:
            assert info.value.exception_type == cause.__name__
    assert "str() of the exception failed" in info.value.message

    @ray.remote(num_returns=3)
    def counts():
        yield from range(3)

    assert ray.get(list(counts.remote()), timeout=30) == [0, 1, 2]


def test_cluster_and_available_resources():
    total = ray.cluster_resources()
    assert total["CPU"] == 4.0 and total["object_store_memory"] > 0
    blocker = sleep.options(num_cpus=2).remote(2)
    for _ in range(500):  # until the task holds its CPUs (bounded)
        if ray.available_resources()["CPU"] == 2.0:
            break
        time.sleep(0.01)
    assert ray.available_resources()["CPU"] == 2.0
    ray.get(blocker)
    assert ray.available_resources()["CPU"] == 4.0
    assert ray.available_resources()["object_store_memory"] <= total["object_store_memory"]


def test_a_forked_child_of_the_driver_does_not_keep_the_node_alive():
    # The node ends when the driver's socket to its zygote closes; a child forked from the
    # driver (multiprocessing, os.fork) must not hold that socket open.
    script = textwrap.dedent("""
        import os, signal, sys, time, ray
        ray.init(num_workers=1)
        ray.get(ray.remote(lambda: 1).remote())
        child = os.fork()
        if child == 0:
            null = os.open(os.devnull, os.O_WRONLY)  # not the test's pipes: it reads them to EOF
            os.dup2(null, 1)
            os.dup2(null, 2)
            time.sleep(60)
            os._exit(0)
        print(child, *(ray._raylet.worker_pids() + ray._raylet.node_pids()), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, env=os.environ)
    child, *node = [int(p) for p in out.stdout.split()]
    try:
        assert len(node) >= 3, out
        deadline = time.time() + 10
        while any(alive(p) for p in node) and time.time() < deadline:
            time.sleep(0.05)
        assert not [p for p in node if alive(p)]
        assert alive(child)  # the forked child itself lives on: it is the user's
    finally:
        os.kill(child, signal.SIGKILL)


def test_arguments_are_bound_at_the_call():
    @ray.remote
    def f(a, b, c=3, *, d=4):
        return a, b, c, d

    assert ray.get(f.remote(1, 2)) == (1, 2, 3, 4)
    assert ray.get(f.remote(1, b=ray.put(5), d=6)) == (1, 5, 3, 6)
    assert ray.get(f.remote(c=7, b=8, a=9)) == (9, 8, 7, 4)
    with pytest.raises(TypeError, match=r"f\(\): missing a required argument: 'b'"):
        f.remote(1)
    with pytest.raises(TypeError, match="too many positional arguments"):
        f.remote(1, 2, 3, 4)
    with pytest.raises(TypeError, match="unexpected keyword argument 'e'"):
        f.remote(1, 2, e=5)
    with pytest.raises(TypeError, match="multiple values for argument 'a'"):
        f.remote(1, 2, a=1)
    with pytest.raises(TypeError, match="missing"):  # the fast path (positional only) too
        identity.remote()
    with pytest.raises(TypeError, match="too many"):
        identity.options(num_returns=1).remote(1, 2)

    @ray.remote
    def rest(*args, **kwargs):
        return args, kwargs

    assert ray.get(rest.remote(1, 2, x=3)) == ((1, 2), {"x": 3})


def test_empty_lists_and_wrong_types():
    assert ray.get([]) == []
    assert ray.wait([]) == ([], [])
    assert ray.wait([], num_returns=0, timeout=0) == ([], [])
    one = identity.remote(1)
    assert ray.get((one,)) == [1]
    for bad in [1, "id", {one: 1}, {one}, None, iter([one])]:
        with pytest.raises(TypeError, match="must be an ObjectRef or a list of ObjectRefs"):
            ray.get(bad)
    with pytest.raises(TypeError, match="a list containing int"):
        ray.get([one, 2])
    with pytest.raises(TypeError, match="expected a list of ObjectRefs, got ObjectID"):
        ray.wait(one)
    with pytest.raises(TypeError, match="a list containing str"):
        ray.wait([one, "x"])
    with pytest.raises(TypeError, match="num_returns must be an int"):
        ray.wait([one], num_returns=1.5)
    with pytest.raises(ValueError, match="timeout must be >= 0"):
        ray.wait([one], timeout=-1)
    with pytest.raises(TypeError, match="timeout"):
        ray.get(one, timeout="1")


def test_runtime_context_and_gpu_ids():
    assert ray.is_initialized() and ray.get_gpu_ids() == []
    context = ray.get_runtime_context()
    assert context.get_task_id() is None  # the driver is not a task
    job, node = context.get_job_id(), context.get_node_id()
    assert int(job, 16) >= 0 and len(node) == 56 and int(node, 16) >= 0

    @ray.remote
    def ids(nested):
        c = ray.get_runtime_context()
        inner = ray.get(ids.remote(False)) if nested else None
        return c.get_job_id(), c.get_node_id(), c.get_task_id(), inner, ray.get_gpu_ids()

    result = ids.remote(True)
    got_job, got_node, task, inner, gpus = ray.get(result)
    assert (got_job, got_node, gpus) == (job, node, [])
    assert task == result.hex()[:40]  # the task's ID starts its results' IDs
    assert inner[2] not in (None, task) and inner[:2] == (job, node)
    assert context.task_id is None and context.job_id == job
