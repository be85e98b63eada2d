"""ray.init(address=...) joins a cluster whose head the real `ray` binary started: ray.nodes()
and ray.cluster_resources() show it with Ray's key names; a wrong token fails at init. With two
more nodes (`ray start --address`), Python tasks run on every node: the nodes start this
interpreter as workers (ray/_remote_worker.py), tasks pinned by custom resources run where the
resources are, objects made on one node are read on the others, and nested tasks cross nodes."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import ray

RAY = os.path.join(os.getcwd(), "ray", "cli", "ray")  # pytest runs in the runfiles root


@pytest.fixture
def head(monkeypatch):
    # Not under TEST_TMPDIR: a unix socket's path in the node's folder must stay short.
    tmp = tempfile.mkdtemp(prefix="ray-py-cluster-", dir="/tmp")
    monkeypatch.setenv("TMPDIR", tmp)
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    started = subprocess.run([RAY, "start", "--head", "--port=0", "--num-cpus=2",
                              '--resources={"gpu_box": 1}', "--object-store-memory=32M"],
                             capture_output=True, text=True, timeout=60)
    try:
        assert started.returncode == 0, started.stderr
        yield re.search(r"Cluster address: (\S+)", started.stdout).group(1)
    finally:
        ray.shutdown()
        subprocess.run([RAY, "stop", "--force"], capture_output=True, timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


_node_folders = {}  # node ID -> its session folder, for remove_node


def start_node(head, resources, num_cpus=2):
    """Adds a node that joins `head` with `resources`; its node ID (as `ray start` prints it)."""
    started = subprocess.run([RAY, "start", f"--address={head}", f"--num-cpus={num_cpus}",
                              f"--resources={json.dumps(resources)}",
                              "--object-store-memory=256M"],
                             capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stderr
    node_id = re.search(r"Started node ([0-9a-f]+)", started.stdout).group(1)
    _node_folders[node_id] = re.search(r"session folder ([^)]+)\)", started.stdout).group(1)
    return node_id


def remove_node(node_id, kill=False):
    """Stops a node: SIGTERM (it leaves gracefully) or SIGKILL (it dies as a crashed machine's
    would); returns once its process has ended (a generous bound)."""
    import signal
    with open(os.path.join(_node_folders[node_id], "node.pid")) as f:
        pid = int(f.read().split()[0])
    pidfd = os.pidfd_open(pid)
    try:
        os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
        import select
        assert select.select([pidfd], [], [], 30)[0], f"node {node_id} did not end"
    finally:
        os.close(pidfd)


@pytest.fixture
def cluster(head):
    """The head and two nodes, with a_box and b_box; this driver joined: {"a": ID, "b": ID}."""
    nodes = {"a": start_node(head, {"a_box": 2}), "b": start_node(head, {"b_box": 2})}
    ray.init(address=head, num_cpus=1, object_store_memory=256 << 20)
    return nodes


@ray.remote
def node_of_task():
    return ray.get_runtime_context().get_node_id()


def test_init_with_an_address_joins_the_cluster(head):
    ray.init(address=head, num_cpus=1, object_store_memory=32 << 20)
    me = ray.get_runtime_context().get_node_id()
    nodes = ray.nodes()
    assert len(nodes) == 2 and all(node["Alive"] and node["alive"] for node in nodes)
    mine = [node for node in nodes if node["NodeID"] == me]
    assert len(mine) == 1
    assert mine[0]["NodeManagerAddress"] == "127.0.0.1"
    assert mine[0]["Resources"]["CPU"] == 1
    total = ray.cluster_resources()
    assert total["CPU"] == 3 and total["gpu_box"] == 1 and total["node:127.0.0.1"] == 2
    # Placement is local first: a task that asks for nothing special runs here while it can.
    assert ray.get(node_of_task.remote()) == me


def test_a_wrong_token_fails_at_init(head, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_TOKEN", "not-the-token")
    with pytest.raises(ray.exceptions.RayError, match="refused the cluster token"):
        ray.init(address=head, num_cpus=1, object_store_memory=32 << 20)
    assert not ray.is_initialized()


def test_without_an_address_the_node_is_alone():
    with ray.init(num_cpus=1, object_store_memory=32 << 20):
        nodes = ray.nodes()
        assert [node["NodeID"] for node in nodes] == [ray.get_runtime_context().get_node_id()]
        assert ray.cluster_resources()["CPU"] == 1


def on(box, function):
    """`function` as a task that needs one `box` (a resource one node has)."""
    return function.options(resources={box: 1})


def test_tasks_pinned_by_a_resource_run_on_its_node(cluster):
    assert ray.get(on("a_box", node_of_task).remote()) == cluster["a"]
    assert ray.get(on("b_box", node_of_task).remote()) == cluster["b"]
    many = [on(box, node_of_task).remote() for _ in range(10) for box in ("a_box", "b_box")]
    assert ray.get(many) == [cluster["a"], cluster["b"]] * 10


@ray.remote
def interpreter():
    import sys
    context = ray.get_runtime_context()
    return (sys.executable, os.getcwd(), ray.__file__, context.get_job_id(), context.namespace,
            os.path.realpath("/proc/self/exe"))


def test_a_remote_worker_is_this_interpreter_with_this_sys_path(cluster):
    *seen, running = ray.get(on("a_box", interpreter).remote())
    context = ray.get_runtime_context()
    assert seen == [sys.executable, os.getcwd(), ray.__file__, context.get_job_id(),
                    context.namespace]
    # The node runs its copy of the interpreter, fetched from the head into its program cache.
    assert running.startswith(os.environ["TMPDIR"]) and "/programs/" in running


SIZE = 50 << 20


@ray.remote
def make_array(seed):
    return (np.arange(SIZE, dtype=np.uint64) * 131 + seed).astype(np.uint8)


@ray.remote
def check_array(array, seed):
    expected = (np.arange(SIZE, dtype=np.uint64) * 131 + seed).astype(np.uint8)
    return bool(np.array_equal(array, expected)), ray.get_runtime_context().get_node_id()


def test_an_array_made_on_one_node_is_read_on_another_and_by_the_driver(cluster):
    array = on("a_box", make_array).remote(7)
    assert ray.get(on("b_box", check_array).remote(array, 7)) == (True, cluster["b"])
    here = ray.get(array)
    assert here.dtype == np.uint8 and here.size == SIZE
    assert np.array_equal(here, (np.arange(SIZE, dtype=np.uint64) * 131 + 7).astype(np.uint8))


@ray.remote
def nested_on(box):
    inner = node_of_task.options(resources={box: 1}).remote()
    return ray.get_runtime_context().get_node_id(), ray.get(inner)


def test_a_nested_task_goes_from_one_node_to_another(cluster):
    assert ray.get(on("a_box", nested_on).remote("b_box")) == (cluster["a"], cluster["b"])


class Refused(Exception):
    pass


@ray.remote
def refuse(x):
    print("refusing", x)  # to the node's workers.log
    raise Refused(f"no {x}")


def test_a_remote_task_raises_its_own_exception(cluster):
    with pytest.raises(Refused, match="no 3"):
        ray.get(on("b_box", refuse).remote(3))


def test_a_task_asking_for_what_no_node_has_fails_naming_it(cluster):
    with pytest.raises(ray.exceptions.RayError, match="no_such_box"):
        ray.get(node_of_task.options(resources={"no_such_box": 1}).remote(), timeout=60)


@ray.remote
def hold_until(path):
    """Holds its CPU and resources until `path` exists (at most a minute)."""
    import time
    deadline = time.monotonic() + 60
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    return os.path.exists(path)


def until(done, bound=30.0):
    """Polls `done()` until it holds, at most `bound` seconds; whether it did."""
    import time
    deadline = time.monotonic() + bound
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)  # a pause between looks, not a timing assert
    return True


def test_available_resources_show_what_running_tasks_hold(cluster, tmp_path):
    assert ray.cluster_resources()["a_box"] == 2
    assert until(lambda: ray.available_resources()["a_box"] == 2)
    release = tmp_path / "release"
    held = on("a_box", hold_until).remote(str(release))
    assert until(lambda: ray.available_resources()["a_box"] == 1)
    assert ray.cluster_resources()["a_box"] == 2
    release.write_text("go")
    assert ray.get(held)
    assert until(lambda: ray.available_resources()["a_box"] == 2)


@ray.remote
def nap(seconds):
    import time
    time.sleep(seconds)
    return ray.get_runtime_context().get_node_id()


@ray.remote
def payload():
    return np.ones(1 << 20, dtype=np.uint8)


def test_a_node_killed_mid_workload(cluster):
    only_on_a = on("a_box", payload).remote()
    ray.wait([only_on_a], timeout=30)
    naps = [nap.remote(0.2) for _ in range(30)]
    ray.wait(naps, num_returns=3, timeout=30)
    remove_node(cluster["a"], kill=True)
    ran = ray.get(naps, timeout=60)  # each reruns where it can
    assert len(ran) == 30 and all(ran)
    with pytest.raises(ray.exceptions.ObjectLostError):
        ray.get(only_on_a, timeout=60)
    assert ray.get(nap.remote(0), timeout=60) != cluster["a"]


def test_a_node_whose_workers_cannot_start_fails_its_tasks_saying_why(head):
    """Workers that exit before they connect (here: the interpreter cannot set up its standard
    streams) make the node unusable for this driver, with their last words, not a hang."""
    node = start_node(head, {"a_box": 1})
    ray.init(address=head, num_cpus=1, object_store_memory=32 << 20,
             runtime_env={"env_vars": {"PYTHONIOENCODING": "no-such-codec"}})
    with pytest.raises(ray.exceptions.RayError) as info:
        ray.get(on("a_box", node_of_task).remote(), timeout=60)
    message = str(info.value)
    assert f"node {node} cannot run this driver's workers" in message, message
    assert "exited before they reached the driver" in message and "workers.log" in message, message
    assert "unknown encoding: no-such-codec" in message, message
    assert ray.get(node_of_task.remote()) == ray.get_runtime_context().get_node_id()
