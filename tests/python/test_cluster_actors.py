"""Python actors across a cluster of real processes (the head and two nodes of the real `ray`
binary, this driver joined): an actor asking for a node's resources runs there and keeps its
state, holds them while it lives, is called from tasks on other nodes, and restarts on another
node when its node dies (or fails its calls with ActorDiedError without restarts)."""
import os

import pytest

import ray
from test_cluster import (  # noqa: F401 (head is a fixture)
    head, node_of_task, remove_node, start_node, until)


@pytest.fixture
def cluster(head):  # noqa: F811
    """The head and two nodes, each with its own box and one "pool"; this driver joined."""
    nodes = {"a": start_node(head, {"a_box": 2, "pool": 1}),
             "b": start_node(head, {"b_box": 2, "pool": 1})}
    ray.init(address=head, num_cpus=1, object_store_memory=64 << 20)
    return nodes


@ray.remote
class Tally:
    def __init__(self):
        self.seen = []

    def record(self, x):
        self.seen.append(x)
        return len(self.seen)

    def seen_so_far(self):
        return self.seen

    def node(self):
        return ray.get_runtime_context().get_node_id()

    def pid(self):
        return os.getpid()


@ray.remote
def record_through(tally, x):
    return ray.get_runtime_context().get_node_id(), ray.get(tally.record.remote(x))


def test_an_actor_runs_on_the_node_with_its_resources_in_order(cluster):
    tally = Tally.options(resources={"a_box": 1}).remote()
    assert ray.get(tally.node.remote()) == cluster["a"]
    counts = [tally.record.remote(i) for i in range(2000)]
    assert ray.get(counts[-1]) == 2000
    assert ray.get(tally.seen_so_far.remote()) == list(range(2000))
    assert until(lambda: ray.available_resources().get("a_box") == 1)
    # A task on node B calls it through its handle.
    where, count = ray.get(record_through.options(resources={"b_box": 1}).remote(tally, -1))
    assert (where, count) == (cluster["b"], 2001)
    del tally  # its last handle: it ends, and gives its resource back
    assert until(lambda: ray.available_resources().get("a_box") == 2)


def test_an_actor_whose_node_dies_restarts_on_another(cluster):
    # A call sent before the driver hears of the death counts as running: it reruns once.
    tally = Tally.options(resources={"pool": 1}, max_restarts=1, max_task_retries=1).remote()
    fragile = Tally.options(resources={"pool": 1}).remote()
    node = ray.get(tally.node.remote())
    assert ray.get(fragile.node.remote()) != node
    assert ray.get(tally.record.remote(1)) == 1
    dying, other = ("a", "b") if node == cluster["a"] else ("b", "a")
    remove_node(cluster[dying], kill=True)
    ray.kill(fragile)  # its "pool" on the other node is free for the restart
    assert ray.get(tally.node.remote(), timeout=60) == cluster[other]
    assert ray.get(tally.record.remote(2)) == 1  # its state started over


def test_an_actor_without_restarts_fails_when_its_node_dies(cluster):
    tally = Tally.options(resources={"a_box": 1}).remote()
    assert ray.get(tally.record.remote(1)) == 1
    remove_node(cluster["a"], kill=True)
    with pytest.raises(ray.exceptions.ActorDiedError):
        ray.get(tally.record.remote(2), timeout=60)


def test_a_node_that_has_just_joined_takes_actors_and_tasks_at_once(cluster, head):  # noqa: F811
    # Before, a request for its resources made as `ray start` returned failed as one no node
    # can take: the driver's list of nodes was up to 500 ms old, and it did not ask again.
    for i in range(3):
        late = start_node(head, {f"late{i}": 2})
        tally = Tally.options(resources={f"late{i}": 1}).remote()
        task = node_of_task.options(resources={f"late{i}": 1}).remote()
        assert ray.get(tally.node.remote(), timeout=60) == late
        assert ray.get(task, timeout=60) == late
