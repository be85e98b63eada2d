"""Nested tasks with a single worker: a worker blocked in ray.get gives its slot back."""

import os
import signal
import time

import pytest

import ray


@ray.remote
def sub_experiment(i, j):
    return i + j


@ray.remote
def run_experiment(i):
    return sum(ray.get([sub_experiment.remote(i, j) for j in range(10)]))


def test_nested_tasks_with_one_worker():
    ray.init(start_ray_local=True, num_workers=1)
    try:
        results = [run_experiment.remote(i) for i in range(5)]
        assert ray.get(results, timeout=60) == [45, 55, 65, 75, 85]
    finally:
        ray.shutdown()


def test_init_again_after_shutdown():
    for _ in range(2):
        ray.init(num_workers=1)
        assert ray.get(ray.put("again")) == "again"
        ray.shutdown()
    assert not ray.is_initialized()


def test_examples_tutorial_py_runs(tmp_path):
    import os
    import subprocess
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    script = os.path.join(here, "..", "..", "examples", "tutorial.py")
    out = subprocess.run([sys.executable, script, str(tmp_path)], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "DISPLAY": ""})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ray.get(results) -> [45, 55, 65, 75, 85]" in out.stdout
    assert "return_multiple() -> (0, 0.0, 'zero')" in out.stdout
    assert "tutorial: done" in out.stdout
    for name in ("compgraph1", "compgraph2", "compgraph3"):
        assert f"computation graph: {tmp_path / name}.svg" in out.stdout
        assert "</svg>" in (tmp_path / f"{name}.svg").read_text()
        assert "op-root" in (tmp_path / f"{name}.dot").read_text()
    assert '"traceEvents"' in (tmp_path / "timeline.json").read_text()


def test_recursion_far_beyond_the_worker_cap():
    # At most 2 worker processes: tasks blocked in ray.get run the tasks they wait for inside
    # their wait, so a recursion of 1,000+ tasks, 14 deep, still completes.
    ray.init(num_workers=1, num_cpus=2, _max_workers=2)
    try:
        @ray.remote
        def fib(n):
            return n if n < 2 else ray.get(fib.remote(n - 1)) + ray.get(fib.remote(n - 2))

        assert ray.get(fib.remote(14), timeout=120) == 377
        assert len(ray._raylet.worker_pids()) <= 2
    finally:
        ray.shutdown()


def test_a_worker_dying_with_tasks_nested_in_it_loses_nothing(tmp_path):
    marker = tmp_path / "died"
    ray.init(num_workers=1, num_cpus=2, _max_workers=1)
    try:
        @ray.remote(max_retries=2)
        def leaf(i):
            if i == 3 and not marker.exists():
                marker.touch()
                os.kill(os.getpid(), signal.SIGKILL)  # the only worker, with tasks nested in it
            return i

        @ray.remote(max_retries=2)
        def parent(n):
            return sum(ray.get(leaf.remote(i)) for i in range(n))

        assert ray.get(parent.remote(6), timeout=120) == 15
        assert marker.exists()
    finally:
        ray.shutdown()


def test_nested_tasks_count_their_retries_and_respect_timeouts():
    ray.init(num_workers=1, num_cpus=2, _max_workers=1)
    try:
        @ray.remote(max_retries=0)
        def crash():
            os.kill(os.getpid(), signal.SIGKILL)

        @ray.remote(max_retries=0)
        def parent():
            return ray.get(crash.remote())  # runs nested in this worker, which then dies

        with pytest.raises(ray.exceptions.WorkerCrashedError):
            ray.get(parent.remote(), timeout=60)  # both fail once: no retry for either

        @ray.remote
        def slow():
            time.sleep(3)
            return "slow"

        @ray.remote
        def impatient():
            try:
                return ray.get(slow.remote(), timeout=0.5)  # not suspended under a nested task
            except ray.exceptions.GetTimeoutError:
                return "timed out"

        assert ray.get(impatient.remote(), timeout=60) == "timed out"
    finally:
        ray.shutdown()
