"""Python actors at the edges of their contract: calls queued behind an async actor's exit,
options that are not numbers the runtime can hold, get_or_create from racing callers, an actor
made by an actor ending with its maker, several actors in local mode, and arguments checked
at .remote()."""

import asyncio
import gc
import math
import os
import subprocess
import sys
import textwrap
import threading
import weakref

import pytest

import ray
from process_waits import ends_within
from ray.exceptions import ActorDiedError


pytestmark = pytest.mark.usefixtures("ray_two_cpus")


@ray.remote
class Leaving:
    async def bye(self):
        ray.actor.exit_actor()

    async def hello(self):
        return 1


@pytest.mark.parametrize("attempt", range(3))
def test_calls_queued_behind_an_async_actors_exit_fail_with_actor_died(attempt):
    # Before, calls whose coroutines had not begun when the exit cancelled them failed with a
    # plain RayTaskError ("the call was dropped before it ended"), in most runs.
    actor = Leaving.remote()
    assert ray.get(actor.hello.remote(), timeout=60) == 1
    refs = [actor.bye.remote()] + [actor.hello.remote() for _ in range(20)]
    for ref in refs:
        with pytest.raises(ActorDiedError):
            ray.get(ref, timeout=60)


@ray.remote
class Waiter:
    def __init__(self):
        self.waiting = weakref.WeakSet()

    async def wait_alone(self):
        future = asyncio.get_running_loop().create_future()  # nothing else holds it
        self.waiting.add(future)
        return await future

    async def collect_then_release(self):
        gc.collect()
        for future in list(self.waiting):
            future.set_result("released")
        return len(self.waiting)


def test_an_async_call_waiting_on_a_future_only_it_holds_survives_the_collector():
    # Before, the loop held the call's task only weakly: the cycle collector destroyed it
    # ("Task was destroyed but it is pending!") and the call failed with GeneratorExit.
    waiter = Waiter.remote()
    calls = [waiter.wait_alone.remote() for _ in range(3)]
    assert ray.get(waiter.collect_then_release.remote(), timeout=60) == 3
    assert ray.get(calls, timeout=60) == ["released"] * 3


@ray.remote
class Counter:
    def __init__(self):
        self.value = 0

    def add(self, x=1):
        self.value += x
        return self.value

    def make_with(self, num_cpus):
        """Makes an actor with these CPUs: what that raised, as text."""
        try:
            Counter.options(num_cpus=num_cpus).remote()
        except ValueError as e:
            return f"ValueError: {e}"
        return "no error"

    def pid(self):
        return os.getpid()


@pytest.mark.parametrize("num_cpus", [math.nan, math.inf, 1e300, -1])
def test_num_cpus_out_of_range_is_a_value_error_at_remote(num_cpus):
    with pytest.raises(ValueError, match="num_cpus must be a number from 0 to 65536"):
        Counter.options(num_cpus=num_cpus).remote()
    # Inside an actor too, which lives on: before, the scheduler dropped its process for the
    # creation it sent, and its state was lost.
    maker = Counter.remote()
    assert ray.get(maker.add.remote(), timeout=60) == 1
    said = ray.get(maker.make_with.remote(num_cpus), timeout=60)
    assert said.startswith("ValueError: Counter: num_cpus must be a number"), said
    assert ray.get(maker.add.remote(), timeout=60) == 2


@pytest.mark.parametrize("value", [2**31, 2**63])
def test_restart_counts_past_an_int_are_a_value_error(value):
    with pytest.raises(ValueError, match="max_restarts must be an int from -1 to"):
        Counter.options(max_restarts=value).remote()


def test_get_or_create_from_racing_threads_gives_them_one_live_actor():
    # Before, a caller that lost the race got a handle whose calls failed with ActorDiedError
    # ("the actor name ... is taken"), in some rounds of most runs.
    for round_ in range(20):
        handles, errors = [], []

        def user(name=f"raced{round_}"):
            try:
                handle = Counter.options(name=name).get_or_create()
                handles.append((handle, ray.get(handle.pid.remote(), timeout=60)))
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(repr(e))

        threads = [threading.Thread(target=user) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert len({pid for _, pid in handles}) == 1, handles


@ray.remote
class Parent:
    def __init__(self):
        self.child = Counter.remote()

    def child_pid(self):
        return ray.get(self.child.pid.remote())


def test_an_actor_made_by_an_actor_ends_when_its_maker_ends():
    # Before, the child lived on until some unrelated call reached the scheduler.
    parent = Parent.remote()
    child_pid = ray.get(parent.child_pid.remote(), timeout=60)
    del parent
    assert ends_within(child_pid, 60), f"the child actor's process {child_pid} still runs"


def test_local_mode_keeps_each_actor_apart():
    # Before, the second actor made every actor's calls fail ("this process serves no actor").
    script = textwrap.dedent("""
        import ray
        ray.init(local_mode=True)

        @ray.remote
        class Named:
            def __init__(self, name):
                self.name, self.calls = name, 0

            def call(self):
                self.calls += 1
                return self.name, self.calls

        a = Named.remote("a")
        assert ray.get(a.call.remote()) == ("a", 1)
        b = Named.remote("b")
        assert ray.get([a.call.remote(), b.call.remote(), a.call.remote()]) == [
            ("a", 2), ("b", 1), ("a", 3)]
        try:
            Named.options(name="n").remote("n")
        except ray.exceptions.RayError as e:
            assert "local mode has no named actors" in str(e), e
        else:
            raise AssertionError("a named actor in local mode")
        print("ok")
        """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, env=os.environ)
    assert out.stdout.strip() == "ok", out


@ray.remote
class Shapes:
    def pair(self, x, y=2):
        return x + y

    @staticmethod
    def alone(a):
        return a

    @classmethod
    def of_class(cls, a):
        return a


def test_wrong_arguments_to_a_method_are_a_type_error_at_remote():
    # Before, the TypeError came from the actor's process, at ray.get, as a RayTaskError.
    shapes = Shapes.remote()
    assert ray.get([shapes.pair.remote(1), shapes.alone.remote(3), shapes.of_class.remote(4)],
                   timeout=60) == [3, 3, 4]
    with pytest.raises(TypeError, match=r"Shapes.pair\(\): missing a required argument: 'x'"):
        shapes.pair.remote()
    with pytest.raises(TypeError, match=r"Shapes.pair\(\): too many positional arguments"):
        shapes.pair.remote(1, 2, 3)
    with pytest.raises(TypeError, match=r"Shapes.alone\(\): missing a required argument"):
        shapes.alone.remote()
    with pytest.raises(TypeError, match=r"Shapes.of_class\(\): too many positional arguments"):
        shapes.of_class.remote(1, 2)
    with pytest.raises(ValueError, match="num_returns must be an int from 1 to 10000, got '2'"):
        shapes.pair.options(num_returns="2")


def test_a_subprocess_an_actor_started_ends_with_the_session():
    # Before, it outlived ray.shutdown and the driver (nothing signalled the node's process
    # group).
    script = textwrap.dedent("""
        import subprocess, ray
        ray.init(num_cpus=1)

        @ray.remote
        class Starter:
            def start(self):
                return subprocess.Popen(["sleep", "300"]).pid

        print(ray.get(Starter.remote().start.remote()), flush=True)
        ray.shutdown()
        """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, env=os.environ)
    pid = int(out.stdout.split()[0])
    assert ends_within(pid, 60), f"the actor's subprocess {pid} still runs"
