"""ray.shutdown() while other threads wait in ray.get or ray.wait: they end with
RayError("ray was shut down"), nothing crashes or hangs; the same at interpreter exit with daemon
threads still waiting."""

import os
import subprocess
import sys
import textwrap
import threading

import pytest

import ray
from ray.exceptions import RayError


@ray.remote
def block_on(fd):
    """Returns once a byte arrives on the pipe (made before ray.init: the workers have it). The
    tests never write it: shutdown ends these tasks."""
    return len(os.read(fd, 1))


def _outcome(call):
    try:
        call()
        return "returned"
    except RayError as e:
        return str(e)
    except Exception as e:  # noqa: BLE001 (reported by the test)
        return f"{type(e).__name__}: {e}"


@pytest.mark.parametrize("round_", range(6))
def test_threads_waiting_in_get_and_wait_end_with_a_clear_error(round_, monkeypatch):
    # A call after shutdown must not start ray again (as the first call does by default).
    monkeypatch.setenv("RAY_ENABLE_AUTO_CONNECT", "0")
    gate = os.pipe()
    try:
        ray.init(num_cpus=2)
        blocked = block_on.remote(gate[0])
        outcomes = {}
        started = threading.Barrier(4)

        def run(name, call):
            started.wait(timeout=60)
            outcomes[name] = _outcome(call)

        threads = [
            threading.Thread(target=run, args=("get", lambda: ray.get(blocked))),
            threading.Thread(target=run, args=("wait", lambda: ray.wait([blocked]))),
            threading.Thread(target=run, args=(
                "submit", lambda: [block_on.remote(gate[0]) for _ in range(500)])),
        ]
        for t in threads:
            t.start()
        started.wait(timeout=60)
        if round_ % 2:
            threading.Event().wait(0.02)  # some rounds: the threads well inside their calls
        ray.shutdown()
        for t in threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a thread still waits a minute after ray.shutdown()"
        for name, what in outcomes.items():
            assert what in ("returned", "ray was shut down") or "not initialized" in what, \
                (name, what)
        assert outcomes["get"] != "returned"
    finally:
        ray.shutdown()
        os.close(gate[0])
        os.close(gate[1])


def test_interpreter_exit_with_daemon_threads_waiting(tmp_path):
    script = tmp_path / "exit_while_waiting.py"
    script.write_text(textwrap.dedent("""
        import os, threading
        import ray

        @ray.remote
        def block_on(fd):
            return len(os.read(fd, 1))

        gate = os.pipe()
        ray.init(num_cpus=2)
        blocked = block_on.remote(gate[0])
        waiting = threading.Barrier(5)

        def wait_forever():
            waiting.wait()
            try:
                ray.get(blocked)
            except Exception:
                pass

        for _ in range(4):
            threading.Thread(target=wait_forever, daemon=True).start()
        waiting.wait()
        print("main thread leaves", flush=True)
    """))
    for _ in range(10):  # the crash it guards against came about one run in ten
        out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "main thread leaves" in out.stdout


@pytest.mark.parametrize("round_", range(4))
def test_node_queries_while_shutting_down_end_cleanly(round_, monkeypatch):
    # ray.available_resources() and friends read the node without the GIL: before, they held a
    # raw pointer to it, which shutdown() in another thread could free under them.
    monkeypatch.setenv("RAY_ENABLE_AUTO_CONNECT", "0")
    ray.init(num_cpus=2)
    started = threading.Barrier(3)
    errors = []

    def query():
        started.wait(timeout=60)
        try:
            while ray.is_initialized():
                ray.available_resources()
                ray.cluster_resources()
        except RayError:
            pass  # "not initialized" once shut down
        except Exception as e:  # noqa: BLE001 (reported by the test)
            errors.append(e)

    threads = [threading.Thread(target=query) for _ in range(2)]
    for t in threads:
        t.start()
    started.wait(timeout=60)
    ray.shutdown()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a query still runs a minute after ray.shutdown()"
    assert errors == []
