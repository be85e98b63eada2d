"""Detached actors across Python drivers, on a cluster of real processes (the head and a node of
the real `ray` binary): a detached actor made by one driver outlives it, in the cluster's actor
host; other drivers (each a `python3 -c` of its own, and this test's process) find it by name
with its state, call it with ObjectRef arguments and from their tasks, see its name taken, and
kill it."""
import ctypes
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import ray
from process_waits import ends_within
from test_cluster import head, start_node  # noqa: F401 (head is a fixture)

COUNTER = """
import os
import ray

@ray.remote
class Counter:
    def __init__(self, start):
        self.value = start

    def add(self, x):
        self.value += x
        return self.value

    def pid(self):
        return os.getpid()

    def blob(self, size):
        return b"x" * size
"""


def loaded_path(name):
    """Where the loader finds the system library `name` (loaded here to ask it)."""
    ctypes.CDLL(name)
    with open("/proc/self/maps") as maps:
        paths = (line.split()[-1] for line in maps if "/" in line)
        return next(path for path in paths if os.path.basename(path).startswith(name))


def driver(head, body, load=None):  # noqa: F811
    """Runs `body` in a driver of its own joined to `head`, with Counter defined (and the shared
    library `load` loaded first)."""
    preamble = f"import ctypes\nctypes.CDLL({load!r})\n" if load else ""
    script = (preamble + COUNTER
              + f"ray.init(address={head!r}, num_cpus=1, object_store_memory=64 << 20)\n"
              + textwrap.dedent(body))
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=os.environ)


@ray.remote
def add_through(counter, x):
    return ray.get(counter.add.remote(x))


@ray.remote
def add_by_name(name, x):
    return ray.get(ray.get_actor(name).add.remote(x))


def test_a_detached_actor_outlives_its_driver_for_other_drivers(head, tmp_path):  # noqa: F811
    start_node(head, {"box": 1}, num_cpus=1)
    # A library of its own (not the system's: it ships) makes the second driver another program,
    # with the same actor host (the interpreter and _raylet.so name it).
    library = tmp_path / "libz-copy.so"
    shutil.copyfile(loaded_path("libz.so.1"), library)
    made = driver(head, """
        c = Counter.options(name="keeper", lifetime="detached").remote(5)
        print(ray.get(c.add.remote(1)), ray.get(c.pid.remote()))
    """)
    assert made.returncode == 0, made.stderr
    value, pid = made.stdout.split()
    assert value == "6"
    used = driver(head, """
        c = ray.get_actor("keeper")
        print(ray.get(c.add.remote(ray.put(10))), ray.get(c.pid.remote()),
              len(ray.get(c.blob.remote(1 << 20))))
    """, load=str(library))
    assert used.stdout.split() == ["16", pid, str(1 << 20)], used.stderr
    taken = driver(head, """
        Counter.options(name="keeper", lifetime="detached").remote(0)
    """)
    assert taken.returncode != 0 and "already taken" in taken.stderr, taken.stderr
    ray.init(address=head, num_cpus=1, object_store_memory=64 << 20)
    found = ray.get_actor("keeper")
    assert ray.get(found.add.remote(1)) == 17
    # From this driver's tasks: through a handle passed in, and found by name there.
    assert ray.get(add_through.remote(found, 100)) == 117
    assert ray.get(add_by_name.remote("keeper", 1000)) == 1117
    ray.kill(found)
    assert ends_within(int(pid))
    with pytest.raises(ValueError):
        ray.get_actor("keeper")


@ray.remote
class Keeper:
    def pid(self):
        return os.getpid()

    def ping(self):
        return "pong"


@ray.remote
def kill_by_name(name):
    ray.kill(ray.get_actor(name))


@ray.remote
def kill_through(handle):
    ray.kill(handle)


def test_a_task_kills_a_detached_actor_by_name_and_by_handle(head):  # noqa: F811
    ray.init(address=head, num_cpus=1, object_store_memory=64 << 20)
    for how in ("name", "handle"):
        name = f"doomed-by-{how}"
        keeper = Keeper.options(name=name, lifetime="detached").remote()
        pid = ray.get(keeper.pid.remote())
        ray.get(kill_by_name.remote(name) if how == "name" else kill_through.remote(keeper))
        assert ends_within(pid), how
        with pytest.raises(ray.exceptions.ActorDiedError):
            ray.get(keeper.ping.remote(), timeout=60)
        with pytest.raises(ValueError):
            ray.get_actor(name)


@ray.remote
class Maker:
    def zeros(self, size):
        import numpy as np
        return np.zeros(size, dtype=np.uint8)

    def ping(self):
        return "pong"


def test_a_detached_result_too_big_for_the_drivers_store_is_store_full(head):  # noqa: F811
    start_node(head, {"roomy": 1}, num_cpus=1)  # a store of 256 MiB, where the actor runs
    ray.init(address=head, num_cpus=1, object_store_memory=16 << 20)
    maker = Maker.options(name="maker", lifetime="detached", resources={"roomy": 1}).remote()
    assert len(ray.get(maker.zeros.remote(1 << 20))) == 1 << 20
    with pytest.raises(ray.exceptions.ObjectStoreFullError):
        ray.get(maker.zeros.remote(64 << 20), timeout=60)
    assert ray.get(maker.ping.remote()) == "pong"  # alive
