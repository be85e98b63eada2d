"""ray.init(address=...) joins a cluster whose head the real `ray` binary started: ray.nodes()
and ray.cluster_resources() show it with Ray's key names; a wrong token fails at init."""
import os
import re
import shutil
import subprocess
import tempfile

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
    assert ray.get(node_of_task.remote()) == me  # tasks run on this node in this slice


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
