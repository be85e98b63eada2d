"""The actor host of a Python program (ray/core_worker/actor_host.h): the head's node starts the
driver's interpreter with its remote worker's command line in host mode (ray/_remote_worker.py),
which joins the cluster as a driver whose node offers no CPUs. Asking again, from this driver or
another one of the same program, gives the same host; it outlives the drivers and ends with
`ray stop`. A host that died is started again at the next ask, from the same driver too."""
import glob
import os
import signal
import subprocess
import sys

import pytest

import ray
from process_waits import alive, ends_within
from test_cluster import RAY, head, until  # noqa: F401 (head is a fixture)


def head_children():
    """The processes the head's node started (its store and any actor host)."""
    [pid_file] = glob.glob(os.path.join(os.environ["TMPDIR"], f"ray-{os.getuid()}", "node-*",
                                        "node.pid"))
    with open(pid_file) as f:
        pid = int(f.read().split()[0])
    children = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            children += [int(child) for child in f.read().split()]
    return children


def hosts():
    """The head's children titled as actor hosts."""
    found = []
    for pid in head_children():
        with open(f"/proc/{pid}/comm") as f:
            if f.read().strip() == "ray::actor_host":
                found.append(pid)
    return found


SECOND_DRIVER = """
import sys
import ray
ray.init(address=sys.argv[1], num_cpus=1, object_store_memory=32 << 20)
print("actor host:", *ray._raylet.actor_host())
ray.shutdown()
"""


def test_a_python_programs_host_is_shared_and_outlives_its_drivers(head):
    ray.init(address=head, num_cpus=1, object_store_memory=32 << 20)
    address, job = ray._raylet.actor_host()
    assert ray._raylet.actor_host() == (address, job)
    assert address.startswith("127.0.0.1:") and job != 0
    [host] = hosts()
    no_cpus = [node for node in ray.nodes()
               if node["Alive"] and node["Resources"]["CPU"] == 0]
    assert len(no_cpus) == 1, ray.nodes()
    assert no_cpus[0]["NodeID"] != ray.get_runtime_context().get_node_id()
    ray.shutdown()
    assert alive(host)

    second = subprocess.run([sys.executable, "-c", SECOND_DRIVER, head], capture_output=True,
                            text=True, timeout=120,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert second.returncode == 0, second.stderr
    assert f"actor host: {address} {job}" in second.stdout, second.stdout + second.stderr
    assert hosts() == [host]

    stopped = subprocess.run([RAY, "stop"], capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 0, stopped.stderr
    assert ends_within(host)


@ray.remote
class Echo:
    def ping(self):
        return "pong"


def test_a_driver_whose_host_died_asks_the_head_again(head):  # noqa: F811
    ray.init(address=head, num_cpus=1, object_store_memory=32 << 20)
    first = Echo.options(name="first", lifetime="detached").remote()
    assert ray.get(first.ping.remote()) == "pong"
    [host] = hosts()
    os.kill(host, signal.SIGKILL)
    assert ends_within(host)
    # The head holds the host's node dead (a bounded wait on its table, not a timing assert).
    assert until(lambda: not any(node["Alive"] and node["Resources"]["CPU"] == 0
                                 for node in ray.nodes())), ray.nodes()
    with pytest.raises(ValueError):
        ray.get_actor("nobody")
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(first.ping.remote(), timeout=60)
    plain = Echo.options(name="plain").remote()
    assert ray.get(plain.ping.remote()) == "pong"
    second = Echo.options(name="second", lifetime="detached").remote()
    assert ray.get(second.ping.remote()) == "pong"
    assert ray.get(ray.get_actor("second").ping.remote()) == "pong"
    [new_host] = hosts()
    assert new_host != host
