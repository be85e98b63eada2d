"""The node's processes: named ray::zygote, ray::store and ray::worker (command line and
thread name), so `pkill -f script.py` hits the driver only, and the node then cleans up after
it: no process and no session folder left; and the death of one of them is one error that
names it."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import time


def _cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().split(b"\0")[0].decode()


def _comm(pid):
    with open(f"/proc/{pid}/comm") as f:
        return f.read().strip()


def _gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"  # a zombie has ended
    except FileNotFoundError:
        return True


def test_node_processes_have_titles_and_pkill_f_hits_only_the_driver(tmp_path):
    script = tmp_path / "uniquely_named_driver_7c1e.py"
    script.write_text(textwrap.dedent("""
        import sys, ray
        from ray import _raylet
        ray.init(num_cpus=2)
        ray.get([ray.remote(lambda: 1).remote() for _ in range(4)])
        print(_raylet.session_dir(), *_raylet.node_pids(), "|", *_raylet.worker_pids(),
              flush=True)
        sys.stdin.read()  # until the test kills this process
    """))
    driver = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        node, workers = driver.stdout.readline().split("|")
        session_dir, *node_pids = node.split()
        node_pids, workers = [int(p) for p in node_pids], [int(p) for p in workers.split()]
        assert len(node_pids) == 2 and workers
        titles = sorted(_cmdline(p) for p in node_pids)
        assert titles == ["ray::store", "ray::zygote"]
        for pid in workers:
            assert _cmdline(pid) == "ray::worker" and _comm(pid) == "ray::worker"
        # What `pkill -f uniquely_named_driver_7c1e` matches: the driver alone.
        matched = subprocess.run(["pgrep", "-f", "uniquely_named_driver_7c1e"],
                                 capture_output=True, text=True).stdout.split()
        assert [int(p) for p in matched] == [driver.pid]
        os.kill(driver.pid, signal.SIGTERM)
        driver.wait(timeout=60)
        deadline = time.monotonic() + 60  # the zygote stops its children, then cleans up
        while time.monotonic() < deadline and (
                os.path.exists(session_dir) or not all(map(_gone, node_pids + workers))):
            time.sleep(0.05)
        assert not os.path.exists(session_dir)
        assert all(map(_gone, node_pids + workers))
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()


def test_a_dead_store_is_one_error_that_names_it():
    import pytest
    import ray
    from ray import _raylet

    gate = os.pipe()  # never written: the task waits until the node dies

    @ray.remote
    def block_on(fd):
        return len(os.read(fd, 1))

    ray.init(num_cpus=1)
    try:
        zygote, store = _raylet.node_pids()
        blocked = block_on.remote(gate[0])
        os.kill(store, signal.SIGKILL)
        expected = f"the node's object store (pid {store}) died"
        with pytest.raises(ray.exceptions.RayError, match=re.escape(expected)):
            ray.get(blocked, timeout=60)
        with pytest.raises(ray.exceptions.RayError, match="object store"):
            ray.put(1)
    finally:
        ray.shutdown()
        os.close(gate[0])
        os.close(gate[1])
