"""Every ray.init option of the session reaches it and takes effect, as its ray::InitOptions
field does in C++ (tests/api/init_options_test.cc)."""

import os
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

import ray
from ray.exceptions import RayError


@ray.remote
def pid_of(_):
    return os.getpid()


@ray.remote
def pids_nested(x):
    """This task's worker and that of the task it waits for."""
    return os.getpid(), ray.get(pid_of.remote(x))


@pytest.fixture
def shut_down():
    yield
    ray.shutdown()


def test_max_workers_one_runs_a_nested_task_in_the_blocked_worker(shut_down):
    ray.init(num_workers=1, num_cpus=2, _max_workers=1)
    outer, inner = ray.get(pids_nested.remote(1), timeout=60)
    assert outer == inner
    assert len(ray._raylet.worker_pids()) == 1


def test_idle_worker_timeout_ends_extra_workers(shut_down):
    ray.init(num_workers=1, num_cpus=2, _idle_worker_timeout=0.2)
    outer, inner = ray.get(pids_nested.remote(1), timeout=60)
    assert outer != inner  # the blocked worker's CPU went to a second worker
    deadline = time.monotonic() + 5  # well under the default 10 s
    while len(ray._raylet.worker_pids()) > 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(ray._raylet.worker_pids()) == 1


def test_record_task_graph_false_records_nothing(shut_down, tmp_path):
    ray.init(num_workers=1, _record_task_graph=False)
    assert ray.get(pid_of.remote(1), timeout=60) > 0
    with pytest.raises(RayError, match="not recorded"):
        ray.timeline(str(tmp_path / "timeline.json"))


def test_max_recorded_tasks_counts_the_rest(shut_down, tmp_path):
    ray.init(num_workers=1, _max_recorded_tasks=3)
    ray.get([pid_of.remote(i) for i in range(10)], timeout=60)
    ray.visualize_computation_graph(str(tmp_path / "graph.dot"))
    # Pickled functions are hidden puts: the tasks are what this checks.
    assert "past the recorder's limit: 7 more tasks" in (tmp_path / "graph.dot").read_text()


def test_temp_dir_and_worker_title(shut_down):
    # A short folder: the session's socket path must fit a unix socket address.
    root = tempfile.mkdtemp(prefix="ray-root-")
    try:
        ray.init(num_workers=1, _temp_dir=root, _worker_command_line_title=False)
        assert ray._raylet.session_dir().startswith(os.path.join(root, "ray-session-"))
        pid = ray.get(pid_of.remote(1), timeout=60)
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert not f.read().startswith(b"ray::worker")  # the driver's command line
        ray.shutdown()  # removes the session folder
    finally:
        os.rmdir(root)


def test_options_out_of_limits_raise_the_check_message():
    with pytest.raises(ValueError, match=r"^ray.init: worker_stall_timeout = 1s: at least 2s"):
        ray.init(_worker_stall_timeout=1)
    with pytest.raises(ValueError, match=r"^ray.init: max_workers = 5000: "):
        ray.init(_max_workers=5000)
    with pytest.raises(ValueError, match=r"^ray.init: idle_worker_timeout = 0: "):
        ray.init(local_mode=True, _idle_worker_timeout=0)
    with pytest.raises(ValueError, match=r"^ray.init: session_dir_root = .*: at most 77 bytes"):
        ray.init(_temp_dir="/" + "a" * 100)
    with pytest.raises(TypeError, match="_max_workers"):
        ray.init(_max_workers="2")
    assert not ray.is_initialized()


def test_worker_stall_timeout_kills_a_stalled_worker(tmp_path):
    # Each worker's first batch of results never leaves it (RAY_TESTING_FAULTS, read at process
    # start): with a 2 s stall timeout the task fails within seconds, not after the default 30.
    script = tmp_path / "stall.py"
    script.write_text(textwrap.dedent("""
        import os, time
        import ray
        from ray.exceptions import WorkerCrashedError

        ray.init(num_workers=1, _worker_stall_timeout=2)

        @ray.remote(max_retries=0)
        def f():
            return os.getpid()

        start = time.monotonic()
        try:
            ray.get(f.remote(), timeout=20)
            print("returned")
        except WorkerCrashedError as e:
            print(f"crashed after {time.monotonic() - start:.0f} s: {e}")
    """))
    env = dict(os.environ, RAY_TESTING_FAULTS="worker.send_results=stall@1")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    assert "stalled: it sent nothing for 2s" in out.stdout, out.stdout + out.stderr
