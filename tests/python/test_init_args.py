"""ray.init's arguments as Ray users pass them: local mode, runtime_env, resources, namespace,
the dashboard's; what cannot be honoured is an error that names it."""

import os
import warnings

import pytest

import ray


@pytest.fixture
def shutdown():
    yield
    ray.shutdown()


@ray.remote
def pid():
    return os.getpid()


@ray.remote
def env(name):
    return os.environ.get(name)


def test_local_mode_runs_tasks_in_the_driver(shutdown):
    ray.init(local_mode=True)
    assert ray.is_initialized()
    assert ray.get(pid.remote()) == os.getpid()

    @ray.remote
    def task_id():
        return ray.get_runtime_context().get_task_id()

    result = task_id.remote()
    assert ray.get(result) == result.hex()[:40]
    assert ray.get_runtime_context().get_task_id() is None

    @ray.remote
    def fib(n):
        return n if n < 2 else sum(ray.get([fib.remote(n - 1), fib.remote(n - 2)]))

    assert ray.get(fib.remote(10)) == 55
    assert ray.get(ray.put([1, 2])) == [1, 2]

    @ray.remote
    def fail():
        raise KeyError("local")

    with pytest.raises(KeyError):
        ray.get(fail.remote())
    ray.shutdown()
    ray.init(num_cpus=1)  # and a real node after it
    assert ray.get(pid.remote()) != os.getpid()


def test_env_vars_reach_the_workers_only(shutdown, monkeypatch):
    monkeypatch.delenv("RAY_TEST_VAR", raising=False)
    monkeypatch.setenv("RAY_TEST_KEPT", "driver's")
    ray.init(num_cpus=2, runtime_env={"env_vars": {"RAY_TEST_VAR": "set",
                                                   "RAY_TEST_KEPT": "workers'"}})
    assert ray.get([env.remote("RAY_TEST_VAR") for _ in range(4)]) == ["set"] * 4
    assert ray.get(env.remote("RAY_TEST_KEPT")) == "workers'"
    assert "RAY_TEST_VAR" not in os.environ and os.environ["RAY_TEST_KEPT"] == "driver's"


def test_working_dir_is_importable_and_readable(shutdown, tmp_path):
    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "job_helpers.py").write_text("def triple(x):\n    return 3 * x\n")
    (folder / "data.txt").write_text("from the working dir")
    ray.init(num_cpus=2, runtime_env={"working_dir": str(folder)})
    (folder / "data.txt").write_text("changed after init")  # the workers have a snapshot

    @ray.remote
    def use():
        import job_helpers
        with open("data.txt") as f:
            return job_helpers.triple(2), f.read(), os.getcwd()

    @ray.remote
    def submit_use():  # a task's tasks run in the working dir too
        return ray.get(use.remote())

    results = ray.get([use.remote() for _ in range(4)] + [submit_use.remote() for _ in range(4)])
    assert {r[:2] for r in results} == {(6, "from the working dir")}
    assert results[0][2] != str(folder) and os.getcwd() != results[0][2]
    with pytest.raises(ImportError):  # the driver's path is not changed
        __import__("job_helpers")


def test_resources_namespace_and_dashboard_arguments(shutdown):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ray.init(num_cpus=2, num_gpus=2, resources={"accelerator": 4}, namespace="team",
                 object_store_memory=64 << 20, include_dashboard=True,
                 dashboard_host="0.0.0.0", dashboard_port=8266, log_to_driver=True,
                 ignore_reinit_error=False)
    assert any("dashboard" in str(w.message) for w in caught)
    resources = ray.cluster_resources()
    assert resources["GPU"] == 2 and resources["accelerator"] == 4 and resources["CPU"] == 2
    assert resources["object_store_memory"] == 64 << 20
    assert ray.get_runtime_context().namespace == "team"
    assert ray.get_gpu_ids() == []
    with pytest.raises(ValueError, match="GPUs"):  # declared, but tasks cannot ask for them
        pid.options(num_gpus=1).remote()
    assert ray.get(pid.options(resources={"accelerator": 1}).remote()) > 0
    with pytest.raises(ray.exceptions.RayError, match="resources it asks for"):
        ray.get(pid.options(resources={"accelerator": 5}).remote())
    with pytest.raises(TypeError, match="resources must be a dict"):
        pid.options(resources={"accelerator": "one"}).remote()


@pytest.mark.parametrize("kwargs, error, match", [
    ({"runtime_env": {"pip": ["requests"]}}, ValueError, "'pip' is not supported"),
    ({"runtime_env": {"env_vars": {"A": 1}}}, TypeError, "env_vars"),
    ({"runtime_env": {"working_dir": "/nonexistent/folder"}}, ValueError, "not a folder"),
    ({"local_mode": True, "runtime_env": {"env_vars": {"A": "1"}}}, ValueError, "local_mode"),
    ({"address": "no-port"}, ValueError, "a cluster's address is HOST:PORT"),
    ({"address": 6379}, TypeError, "address must be a str"),
    ({"start_ray_local": False}, NotImplementedError, "give a cluster's address"),
    ({"no_such_argument": 1}, TypeError, "no_such_argument"),
    ({"resources": {"GPU": 1}}, ValueError, "GPU"),
    ({"namespace": 3}, TypeError, "namespace"),
])
def test_what_cannot_be_honoured_is_an_error(kwargs, error, match):
    with pytest.raises(error, match=match):
        ray.init(**kwargs)
    assert not ray.is_initialized()


AUTO_INIT_DRIVER = """
    import ray

    @ray.remote
    def square(x):
        return x * x

    print(ray.is_initialized(), ray.get([square.remote(i) for i in range(4)]),
          ray.is_initialized())
    """


@pytest.mark.parametrize("auto_connect, out", [("", "False [0, 1, 4, 9] True\n"), ("0", "")])
def test_first_remote_call_starts_ray(tmp_path, auto_connect, out):
    """Without ray.init, the first .remote() (put, get, wait) calls it, unless
    RAY_ENABLE_AUTO_CONNECT=0."""
    import subprocess
    import sys
    import textwrap
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(AUTO_INIT_DRIVER))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "RAY_ENABLE_AUTO_CONNECT": auto_connect})
    assert done.stdout == out
    assert (done.returncode == 0) == (out != ""), done.stderr
    assert auto_connect != "0" or "call ray.init() first" in done.stderr


def test_init_returns_a_context_that_shuts_down():
    with ray.init(num_cpus=1) as context:
        assert context.dashboard_url is None
        assert os.path.isdir(context["session_dir"])
        assert context.address_info["node_id"] == ray.get_runtime_context().get_node_id()
        assert ray.get(pid.remote()) != os.getpid()
    assert not ray.is_initialized() and not os.path.exists(context["session_dir"])


@pytest.mark.parametrize("kwargs, error, message", [
    # Before, this forked a worker per CPU asked for: a billion forks.
    ({"num_cpus": 1e9}, ValueError, "ray.init: num_cpus = 1e+09: a node has 0 to 65536 CPUs "
                                    "(0: num_workers)"),
    ({"num_cpus": 2000}, ValueError, "ray.init: num_workers = 2000: a node starts 0 to 1024 "
                                     "workers (0: one per core) (num_workers defaults to "
                                     "num_cpus rounded up: give num_workers too)"),
    ({"num_workers": 10**10}, ValueError, "ray.init: num_workers = 10000000000: a node starts "
                                          "0 to 1024 workers (0: one per core)"),
    ({"num_workers": -1}, ValueError, "ray.init: num_workers = -1: "),
    ({"num_cpus": float("nan")}, ValueError, "ray.init: num_cpus = nan: "),
    ({"num_workers": 2.5}, TypeError, "ray.init: num_workers must be an int, got float"),
    ({"num_cpus": "4"}, TypeError, "ray.init: num_cpus must be a number, got str"),
])
def test_node_options_past_their_limits_are_refused_as_in_cpp(kwargs, error, message):
    """The limits and messages of ray/core_worker/limits.h (tests/api/api_test.cc checks ray::Init's)."""
    for local_mode in (False, True):
        with pytest.raises(error) as raised:
            ray.init(local_mode=local_mode, **kwargs)
        assert str(raised.value).startswith(message), raised.value
        assert not ray.is_initialized()
    # Within them, a node starts.
    with ray.init(num_cpus=1.5, num_workers=1):
        assert ray.cluster_resources()["CPU"] == 1.5
