"""Python actors as in Ray: @ray.remote classes, Cls.remote(...), handle.method.remote(...),
state kept between calls in a process of the actor's own, calls in order, exceptions that
keep the state, handles pickled into tasks, ray.kill, restarts, ActorDiedError."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

import ray
from process_waits import ends_within
from ray.exceptions import ActorDiedError, RayActorError, RayTaskError


pytestmark = pytest.mark.usefixtures("ray_two_cpus")


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
    with pytest.raises(ValueError, match="The name 'tally' is already taken"):
        Counter.options(name="tally").remote()
    ray.kill(c)
    with pytest.raises(ValueError):
        ray.get_actor("tally")


class PickleMark:
    """Pickling one appends this process's pid to the file `path`: a class holding one, pickled
    by value, leaves a line per pickle of the class."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()}\n")
        return (PickleMark, (self.path,))


def test_get_actor_reads_the_class_as_its_creation_carried_it(tmp_path):
    marks = tmp_path / "pickled"
    marks.touch()

    @ray.remote
    class Marked:  # made in a function: pickled by value, and its mark with it
        mark = PickleMark(str(marks))

        def add(self, x):
            return x + 1

    m = Marked.options(name="marked").remote()
    assert ray.get(ray.get_actor("marked").add.remote(1)) == 2
    assert ray.get(add_to_named.remote("marked", 2)) == 3  # found from a task too
    # Pickled once, by the driver for the creation: its worker answers ray.get_actor with the
    # bytes the creation carried, not with the class pickled again.
    assert marks.read_text().split() == [str(os.getpid())]
    ray.kill(m)


def test_a_detached_actor_outlives_its_handles_until_killed():
    c = Counter.options(name="keeper", lifetime="detached").remote(1)
    twin = Counter.options(name="twin").remote(1)  # the same, not detached
    pid, twin_pid = ray.get([c.pid.remote(), twin.pid.remote()])
    assert ray.get(c.add.remote(1)) == 2
    del c, twin  # no handle is left: the twin ends, the detached one is still there
    assert ends_within(twin_pid)
    found = ray.get_actor("keeper")
    assert ray.get(found.add.remote(1)) == 3
    assert ray.get(found.pid.remote()) == pid
    ray.kill(found)
    assert ends_within(pid)
    with pytest.raises(ValueError):
        ray.get_actor("keeper")


def test_calls_are_on_their_actors_lane_in_the_timeline():
    c = Counter.remote()
    pid = ray.get(c.pid.remote())
    ray.get([c.add.remote(1) for _ in range(3)])
    ray.get(add_through.remote(Counter.remote(), 1))  # other processes: other lanes
    lane = [e["name"] for e in ray.timeline() if e.get("ph") == "X" and e["tid"] == pid]
    # Its process's lane holds its creation and its calls, and nothing else.
    assert lane.count("Counter.__init__") == 1 and lane.count("Counter.add") == 3, lane
    assert set(lane) == {"Counter.__init__", "Counter.pid", "Counter.add"}, lane


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
    assert all(ends_within(p) for p in pids)


def test_wrong_uses_are_clear():
    with pytest.raises(TypeError, match="use Counter.remote"):
        Counter()
    c = Counter.remote()
    with pytest.raises(AttributeError, match="no method 'nope'"):
        c.nope.remote()
    with pytest.raises(TypeError, match="use .add.remote"):
        c.add(1)
    with pytest.raises(ValueError, match="lifetime must be 'detached', 'non_detached' or None"):
        Counter.options(lifetime="forever").remote()
    with pytest.raises(TypeError, match="unsupported actor options"):
        Counter.options(colour="red")


@ray.remote
class FailsToStart:
    def __init__(self):
        raise ValueError("no tally today")

    def get(self):
        return 1


def test_an_init_that_raises_fails_the_calls_saying_why():
    actor = FailsToStart.remote()
    with pytest.raises(ActorDiedError, match="ValueError: no tally today"):
        ray.get(actor.get.remote(), timeout=60)


def test_get_if_exists_and_get_or_create_return_the_live_actor():
    first = Counter.options(name="shared", get_if_exists=True).remote(1)
    again = Counter.options(name="shared", get_if_exists=True).remote(100)  # args ignored
    assert ray.get(again.add.remote(1)) == 2
    assert ray.get(first.get.remote()) == 2
    also = Counter.options(name="shared").get_or_create(5)
    assert ray.get(also.get.remote()) == 2
    with pytest.raises(ValueError, match="give the actor a name first"):
        Counter.get_or_create(5)
    ray.kill(first)
    fresh = Counter.options(name="shared").get_or_create(7)  # the name is free again
    assert ray.get(fresh.get.remote()) == 7


@ray.remote
class Pair:
    @ray.method(num_returns=2)
    def split(self, a, b):
        return a, b


def test_ray_method_sets_a_methods_number_of_returns():
    pair = Pair.remote()
    left, right = pair.split.remote(1, 2)
    assert ray.get([left, right]) == [1, 2]
    assert len(pair.split.options(num_returns=2).remote(3, 4)) == 2
    with pytest.raises(ValueError, match="num_returns must be an int >= 1"):
        ray.method(num_returns=0)


@ray.remote(max_restarts=1)
class Mortal:
    def __init__(self, path):
        self.path = path

    def __del__(self):
        with open(self.path, "w") as f:
            f.write("gone")

    def identity(self):
        context = ray.get_runtime_context()
        return context.get_actor_id(), context.was_current_actor_reconstructed, os.getpid()

    def leave(self):
        ray.actor.exit_actor()

    def die(self):
        os._exit(1)


def test_del_runs_when_the_last_handle_goes(tmp_path):
    marker = str(tmp_path / "gone")
    mortal = Mortal.remote(marker)
    _, _, pid = ray.get(mortal.identity.remote())
    del mortal
    assert ends_within(pid)
    with open(marker) as f:
        assert f.read() == "gone"


def test_exit_actor_ends_it_for_good_and_del_runs(tmp_path):
    marker = str(tmp_path / "gone")
    mortal = Mortal.remote(marker)
    _, _, pid = ray.get(mortal.identity.remote())
    with pytest.raises(ActorDiedError, match="it exited"):
        ray.get(mortal.leave.remote(), timeout=60)
    assert ends_within(pid)
    assert os.path.exists(marker)
    with pytest.raises(ActorDiedError):  # no restart, though max_restarts=1
        ray.get(mortal.identity.remote(), timeout=60)
    with pytest.raises(TypeError, match="outside an actor"):
        ray.actor.exit_actor()


def test_the_runtime_context_names_the_actor_and_says_if_it_restarted(tmp_path):
    mortal = Mortal.remote(str(tmp_path / "gone"))
    actor_id, restarted, pid = ray.get(mortal.identity.remote())
    assert actor_id and not restarted
    assert ray.get_runtime_context().get_actor_id() is None  # the driver is no actor
    with pytest.raises(ActorDiedError):
        ray.get(mortal.die.remote(), timeout=60)
    again_id, restarted, again_pid = ray.get(mortal.identity.remote(), timeout=60)
    assert (again_id, restarted) == (actor_id, True) and again_pid != pid
