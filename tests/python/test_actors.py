"""Python actors as in Ray: @ray.remote classes, Cls.remote(...), handle.method.remote(...),
state kept between calls in a process of the actor's own, calls in order, exceptions that
keep the state, handles pickled into tasks, ray.kill, restarts, ActorDiedError."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import ray
from ray.exceptions import ActorDiedError, RayActorError, RayTaskError


@pytest.fixture(scope="module", autouse=True)
def ray_session():
    ray.init(num_cpus=2)
    yield
    ray.shutdown()


@ray.remote
class Counter:
    def __init__(self, start=0):
        self.value = start

    def add(self, x=1):
        self.value += x
        return self.value

    def get(self):
        return self.value

    def pid(self):
        return os.getpid()

    def fail(self):
        raise ValueError("no")

    def die(self):
        os.kill(os.getpid(), signal.SIGKILL)

    def pair(self):
        return self.value, -self.value


@ray.remote
def add_through(counter, x):
    return ray.get(counter.add.remote(x))


@ray.remote
def make_counter(start):
    return Counter.remote(start)


def test_methods_keep_the_actors_state_in_a_process_of_its_own():
    c = Counter.remote(10)
    assert ray.get(c.add.remote(5)) == 15
    assert ray.get(c.get.remote()) == 15
    pid = ray.get(c.pid.remote())
    assert pid != os.getpid()
    assert ray.get(c.pid.remote()) == pid
    assert ray.get(c.add.remote(x=2)) == 17  # keyword arguments too
    a, b = c.pair.options(num_returns=2).remote()
    assert ray.get([a, b]) == [17, -17]


def test_calls_run_in_the_order_submitted():
    c = Counter.remote()
    refs = [c.add.remote(1) for _ in range(2000)]
    assert ray.get(refs) == list(range(1, 2001))


def test_an_exception_fails_its_call_and_keeps_the_state():
    c = Counter.remote(3)
    with pytest.raises(ValueError) as info:
        ray.get(c.fail.remote())
    assert isinstance(info.value, RayTaskError)
    assert ray.get(c.add.remote(1)) == 4


def test_handles_travel_into_and_out_of_tasks():
    c = Counter.remote(1)
    assert ray.get(add_through.remote(c, 2)) == 3
    made = ray.get(make_counter.remote(40))
    assert ray.get(made.add.remote(2)) == 42
    stored = ray.put(made)
    assert ray.get(ray.get(stored).get.remote()) == 42


def test_kill_ends_the_actor():
    c = Counter.remote()
    ray.get(c.add.remote())
    ray.kill(c)
    with pytest.raises(ActorDiedError) as info:
        ray.get(c.get.remote())
    assert isinstance(info.value, RayActorError)
    assert "killed by ray::Kill" in str(info.value)


def test_a_dead_process_restarts_the_actor_while_max_restarts_allows():
    c = Counter.options(max_restarts=1).remote(100)
    first = ray.get(c.pid.remote())
    assert ray.get(c.add.remote(1)) == 101
    with pytest.raises(ActorDiedError):
        ray.get(c.die.remote())
    assert ray.get(c.get.remote()) == 100  # the constructor ran again
    assert ray.get(c.pid.remote()) != first
    with pytest.raises(ActorDiedError):
        ray.get(c.die.remote())
    with pytest.raises(ActorDiedError):
        ray.get(c.get.remote())


def test_a_constructor_that_raises_fails_the_calls():
    @ray.remote
    class Broken:
        def __init__(self):
            raise RuntimeError("cannot start")

        def ping(self):
            return 1

    b = Broken.remote()
    with pytest.raises(ActorDiedError):
        ray.get(b.ping.remote())


@ray.remote
def add_to_named(name, x):
    return ray.get(ray.get_actor(name).add.remote(x))


def test_named_actors_are_found_by_name():
    c = Counter.options(name="tally").remote(10)
    assert ray.get(ray.get_actor("tally").add.remote(1)) == 11
    assert ray.get(add_to_named.remote("tally", 2)) == 13  # from a task too
    with pytest.raises(ValueError, match="Failed to look up actor with name 'nobody'"):
        ray.get_actor("nobody")
    twin = Counter.options(name="tally").remote()
    with pytest.raises(ActorDiedError, match="the actor name 'tally' is taken"):
        ray.get(twin.get.remote())
    ray.kill(c)
    with pytest.raises(ValueError):
        ray.get_actor("tally")


def test_calls_are_on_their_actors_lane_in_the_timeline():
    c = Counter.remote()
    pid = ray.get(c.pid.remote())
    ray.get([c.add.remote(1) for _ in range(3)])
    ray.get(add_through.remote(Counter.remote(), 1))  # other processes: other lanes
    lane = [e["name"] for e in ray.timeline() if e.get("ph") == "X" and e["tid"] == pid]
    # Its process's lane holds its creation and its calls, and nothing else.
    assert lane.count("Counter.__init__") == 1 and lane.count("Counter.add") == 3, lane
    assert set(lane) == {"Counter.__init__", "Counter.pid", "Counter.add"}, lane


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_no_actor_process_is_left_after_its_driver(how):
    script = textwrap.dedent(f"""
        import asyncio, os, signal, ray
        ray.init(num_cpus=2)

        @ray.remote
        class Pid:
            def pid(self):
                return os.getpid()

        @ray.remote
        class AsyncPid:  # an async actor: its calls run on an event loop's thread
            async def pid(self):
                await asyncio.sleep(0)
                return os.getpid()

        # A plain actor, one that restarts, a threaded one, an async one.
        actors = [Pid.remote(), Pid.options(max_restarts=-1).remote(),
                  Pid.options(max_concurrency=4).remote(), AsyncPid.remote()]
        print(*ray.get([a.pid.remote() for a in actors]), flush=True)
        if "{how}" == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, env=os.environ)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 4, out
    deadline = time.time() + 30
    while any(_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.05)  # a pause between looks, bounded: not a timing assert
    assert not [p for p in pids if _alive(p)]


def test_wrong_uses_are_clear():
    with pytest.raises(TypeError, match="use Counter.remote"):
        Counter()
    c = Counter.remote()
    with pytest.raises(AttributeError, match="no method 'nope'"):
        c.nope.remote()
    with pytest.raises(TypeError, match="use .add.remote"):
        c.add(1)
    with pytest.raises(ValueError, match="not supported yet"):
        Counter.options(lifetime="detached").remote()
    with pytest.raises(TypeError, match="unsupported actor options"):
        Counter.options(colour="red")
