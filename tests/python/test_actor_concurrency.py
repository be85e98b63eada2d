"""Threaded and async actors as in Ray: .options(max_concurrency=n) runs up to n calls at once,
each on a thread of the actor's process (proven by barriers that only n calls at once can
pass), a class with an `async def` method runs its methods on one asyncio loop (up to
max_concurrency coroutines at once, 1000 by default), and without either an actor runs one call
at a time in order."""

import asyncio
import os
import signal
import threading
import time

import pytest

import ray
from process_waits import wait_for_file
from ray.exceptions import ActorDiedError, RayTaskError

BOUND = 60  # seconds a barrier waits at most: past it the test fails instead of hanging


pytestmark = pytest.mark.usefixtures("ray_two_cpus")


@ray.remote
def when_file_exists(path):
    return wait_for_file(path, BOUND)


@ray.remote
class Room:
    """Counts the calls inside it at once; `meet` passes a barrier for `parties` calls."""

    def __init__(self, parties=1):
        self.barrier = threading.Barrier(parties, timeout=BOUND)
        self.lock = threading.Lock()
        self.inside = self.most = self.total = 0
        self.order = []

    def _enter(self):
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)

    def _leave(self):
        with self.lock:
            self.inside -= 1

    def meet(self, fail=False):
        self._enter()
        try:
            self.barrier.wait()  # BrokenBarrierError after BOUND: fails the test
        finally:
            self._leave()
        if fail:
            raise ValueError("this call fails after the meeting")
        return "met"

    def step(self, i):
        self._enter()
        self.order.append(i)
        time.sleep(0)  # lets another thread in, if one could be
        self._leave()
        return i

    def add(self, x):
        with self.lock:
            self.total += x
            return self.total

    def report(self):
        return self.most, self.order

    def pid(self):
        return os.getpid()

    def get_through_task(self, path):
        return ray.get(when_file_exists.remote(path))  # blocks this call only

    def ask_through_task(self, gate, asking, wait=False):
        ref = when_file_exists.remote(gate)
        open(asking, "w").close()  # just before it asks
        if wait and ray.wait([ref])[0] != [ref]:
            return None
        return ray.get(ref)

    def get_ready(self):
        return ray.get(ray.put(42))  # exists at once: answered whatever other calls wait for

    def wait_ready(self):
        ref = ray.put(43)
        return ray.get(ray.wait([ref])[0][0])

    def add_through(self, me, x):
        return ray.get(me.add.remote(x))  # a call of this actor, on another of its threads

    def hold(self, folder, i):
        open(os.path.join(folder, f"started_{i}"), "w").close()
        return i if wait_for_file(os.path.join(folder, "release"), BOUND) else -1


def test_max_concurrency_calls_run_at_once_and_no_more():
    room = Room.options(max_concurrency=4).remote(4)
    pid = ray.get(room.pid.remote())
    # Eight calls through a barrier for four: two meetings of four calls at once.
    assert ray.get([room.meet.remote() for _ in range(8)]) == ["met"] * 8
    assert ray.get(room.report.remote())[0] == 4
    lane = [e["name"] for e in ray.timeline() if e.get("ph") == "X" and e["tid"] == pid]
    assert lane.count("Room.meet") == 8, lane  # on its actor's lane


def test_without_it_calls_run_one_at_a_time_in_order():
    room = Room.remote()
    assert ray.get([room.step.remote(i) for i in range(500)]) == list(range(500))
    most, order = ray.get(room.report.remote())
    assert most == 1 and order == list(range(500))


def test_an_exception_fails_only_its_call():
    room = Room.options(max_concurrency=3).remote(3)
    assert ray.get(room.add.remote(5)) == 5
    calls = [room.meet.remote(fail=f) for f in (False, True, False)]
    assert ray.get(calls[0]) == "met" and ray.get(calls[2]) == "met"
    with pytest.raises(RayTaskError, match="fails after the meeting"):
        ray.get(calls[1])
    assert ray.get(room.add.remote(1)) == 6  # its state is kept


def test_a_call_blocked_in_ray_get_lets_the_others_run(tmp_path):
    room = Room.options(max_concurrency=3).remote()
    first = room.get_through_task.remote(str(tmp_path / "gate1"))
    second = room.get_through_task.remote(str(tmp_path / "gate2"))
    for i in range(1, 21):
        assert ray.get(room.add.remote(1)) == i
    (tmp_path / "gate2").touch()
    assert ray.get(second) is True  # before the first: each get has its own request
    (tmp_path / "gate1").touch()
    assert ray.get(first) is True
    # A call that waits for another call of its own actor: that one runs on another thread.
    assert ray.get(room.add_through.remote(room, 5)) == 25


@pytest.mark.parametrize("wait", [False, True])
def test_a_get_of_an_object_that_exists_returns_while_another_call_waits_in_its_own(
    tmp_path, wait
):
    # Each call thread has its own request in flight: the second is answered at once, while the
    # first cannot end before the test opens its gate.
    room = Room.options(max_concurrency=2).remote()
    asking = str(tmp_path / "asking")
    blocked = room.ask_through_task.remote(str(tmp_path / "gate"), asking, wait)
    assert wait_for_file(asking, BOUND)
    ready = room.wait_ready.remote() if wait else room.get_ready.remote()
    assert ray.get(ready, timeout=BOUND) == (43 if wait else 42)
    assert ray.wait([blocked], timeout=0)[0] == []
    (tmp_path / "gate").touch()
    assert ray.get(blocked) is True


def test_its_process_dying_fails_the_running_calls_and_reruns_the_queued(tmp_path):
    room = Room.options(max_concurrency=3, max_restarts=1).remote()
    pid = ray.get(room.pid.remote())
    held = [room.hold.remote(str(tmp_path), i) for i in range(3)]
    for i in range(3):
        assert wait_for_file(str(tmp_path / f"started_{i}"), BOUND)
    queued = [room.add.remote(1), room.add.remote(2)]  # every thread is taken: they queue
    os.kill(pid, signal.SIGKILL)
    for call in held:
        with pytest.raises(ActorDiedError):
            ray.get(call)  # running, and max_task_retries=0
    assert sorted(ray.get(queued)) in ([1, 3], [2, 3])  # on the restarted actor, state anew
    assert ray.get(room.pid.remote()) != pid
    ray.kill(room)
    with pytest.raises(ActorDiedError):
        ray.get(room.add.remote(1))


@ray.remote
class AsyncRoom:
    """An async actor: its methods run on one event loop."""

    def __init__(self):
        self.arrived = 0
        self.inside = self.most = 0
        self.opened = {}  # meeting number -> asyncio.Event
        self.order = []
        self.kept = ray.put("from the creation")

    async def meet(self, parties, fail=False):
        self.inside += 1
        self.most = max(self.most, self.inside)
        meeting = self.arrived // parties
        self.arrived += 1
        opened = self.opened.setdefault(meeting, asyncio.Event())
        if self.arrived % parties == 0:
            self.threads = len(os.listdir("/proc/self/task"))  # with every party inside
            opened.set()
        await asyncio.wait_for(opened.wait(), BOUND)  # TimeoutError after BOUND: fails the test
        self.inside -= 1
        if fail:
            raise ValueError("this coroutine fails after the meeting")
        return meeting

    async def threads_at_last_meeting(self):
        return self.threads

    async def record(self, i):
        self.order.append(i)  # before its first await: in the order calls start
        await asyncio.sleep(0)
        return i

    async def recorded(self):
        return self.order

    async def put_beside_the_creations(self):
        return [self.kept, ray.put("from a coroutine")]

    async def park(self):
        await asyncio.Event().wait()  # until cancelled

    async def quit(self):
        ray.actor.exit_actor()

    async def get_through_task(self, path):
        return ray.get(when_file_exists.remote(path))  # blocks the loop until it returns

    async def most_inside(self):
        await asyncio.sleep(0)
        return self.most

    async def double(self, x):
        await asyncio.sleep(0)
        return 2 * x

    async def fail(self):
        await asyncio.sleep(0)
        raise KeyError("async failure")

    async def await_behind_gate(self, gate, asking):
        ref = when_file_exists.remote(gate)
        open(asking, "w").close()  # just before it awaits
        return await ref

    async def await_first(self, refs):
        return await refs[0]  # the loop runs other calls meanwhile

    async def sum_through(self, other, n):
        return sum(await asyncio.gather(*[other.double.remote(i) for i in range(n)]))

    def loop_thread(self):  # not async: runs on the loop as well
        asyncio.get_running_loop()
        return threading.current_thread().name


def test_async_actor_runs_up_to_1000_calls_at_once_by_default():
    room = AsyncRoom.remote()
    assert ray.get([room.meet.remote(200) for _ in range(200)]) == [0] * 200
    assert ray.get(room.most_inside.remote()) == 200


def test_async_actor_max_concurrency_bounds_its_coroutines():
    room = AsyncRoom.options(max_concurrency=5).remote()
    assert sorted(ray.get([room.meet.remote(5) for _ in range(15)])) == [0] * 5 + [1] * 5 + [2] * 5
    assert ray.get(room.most_inside.remote()) == 5


def test_async_actor_results_and_exceptions():
    room = AsyncRoom.remote()
    assert ray.get([room.double.remote(i) for i in range(100)]) == [2 * i for i in range(100)]
    with pytest.raises(RayTaskError, match="async failure") as failure:
        ray.get(room.fail.remote())
    assert isinstance(failure.value, KeyError)
    assert ray.get(room.loop_thread.remote()) == "ray-async-actor"
    assert ray.get(room.double.remote(21)) == 42  # it lives on


def test_async_actor_awaits_object_refs_without_blocking_its_loop(tmp_path):
    room, other = AsyncRoom.remote(), AsyncRoom.remote()
    waiting = room.await_first.remote([when_file_exists.remote(str(tmp_path / "gate"))])
    assert ray.get(room.double.remote(4)) == 8  # while the other call awaits
    (tmp_path / "gate").touch()
    assert ray.get(waiting) is True
    assert ray.get(room.sum_through.remote(other, 50)) == 2 * sum(range(50))


def test_async_actor_await_of_an_object_that_exists_returns_while_another_awaits(tmp_path):
    # Each awaited ref is got on an executor thread, with its own request in flight.
    room = AsyncRoom.remote()
    asking = str(tmp_path / "asking")
    blocked = room.await_behind_gate.remote(str(tmp_path / "gate"), asking)
    assert wait_for_file(asking, BOUND)
    assert ray.get(room.await_first.remote([ray.put(42)]), timeout=BOUND) == 42
    assert ray.wait([blocked], timeout=0)[0] == []
    (tmp_path / "gate").touch()
    assert ray.get(blocked) is True


def test_max_concurrency_out_of_range_is_refused():
    for wrong in (0, -1, 10001, 2.5, True):
        with pytest.raises(ValueError, match="max_concurrency must be an int from 1 to 10000"):
            Room.options(max_concurrency=wrong).remote()


def test_async_actor_holds_1000_coroutines_open_without_a_thread_each():
    room = AsyncRoom.remote()
    assert ray.get([room.meet.remote(1000) for _ in range(1000)]) == [0] * 1000
    assert ray.get(room.most_inside.remote()) == 1000
    # The worker holds the calls open and the loop runs them: no thread waits for one.
    assert ray.get(room.threads_at_last_meeting.remote()) < 50


def test_async_actor_an_exception_fails_only_its_coroutine():
    room = AsyncRoom.remote()
    calls = [room.meet.remote(3, fail=f) for f in (False, True, False)]  # all three in at once
    assert ray.get(calls[0]) == 0 and ray.get(calls[2]) == 0
    with pytest.raises(RayTaskError, match="fails after the meeting") as failure:
        ray.get(calls[1])
    assert isinstance(failure.value, ValueError)
    assert ray.get(room.double.remote(2)) == 4


@pytest.mark.parametrize("max_concurrency", [None, 1, 3])
def test_async_actor_starts_the_calls_of_one_caller_in_order(max_concurrency):
    room = AsyncRoom.options(max_concurrency=max_concurrency).remote()
    assert ray.get([room.record.remote(i) for i in range(1000)]) == list(range(1000))
    assert ray.get(room.recorded.remote()) == list(range(1000))


def test_async_actor_exit_actor_ends_its_open_calls():
    room = AsyncRoom.remote()
    parked = [room.park.remote() for _ in range(5)]
    assert ray.get(room.double.remote(1)) == 2  # the parked calls are open
    with pytest.raises(ActorDiedError, match="exit_actor"):
        ray.get(room.quit.remote())
    for call in parked:  # cancelled: the actor ends once they have
        with pytest.raises(ActorDiedError):
            ray.get(call, timeout=BOUND)
    with pytest.raises(ActorDiedError):
        ray.get(room.double.remote(1), timeout=BOUND)


def test_async_actor_killed_with_open_calls_fails_them():
    room = AsyncRoom.remote()
    parked = [room.park.remote() for _ in range(5)]
    assert ray.get(room.double.remote(1)) == 2
    ray.kill(room)
    for call in parked:
        with pytest.raises(ActorDiedError):
            ray.get(call, timeout=BOUND)


def test_async_actor_coroutine_blocked_in_ray_get_holds_the_others_until_it_returns(tmp_path):
    room = AsyncRoom.remote()
    blocked = room.get_through_task.remote(str(tmp_path / "gate"))
    later = [room.double.remote(i) for i in range(50)]  # start after it: they run once it returns
    ready, _ = ray.wait(later, timeout=0.2)
    assert ready == []  # however long it waited: the loop is held
    (tmp_path / "gate").touch()
    assert ray.get(blocked) is True
    assert ray.get(later) == [2 * i for i in range(50)]


@ray.remote(max_concurrency=2)
class ThreadedKeeper:
    def __init__(self):
        self.kept = ray.put("from the creation")

    def put_from_a_thread(self):
        made = []
        thread = threading.Thread(target=lambda: made.append(ray.put("from a thread")))
        thread.start()
        thread.join()
        return [self.kept, made[0]]


def test_puts_outside_a_call_do_not_take_the_ids_of_the_creations_puts():
    # A coroutine, or a thread a call started, puts under the creation's name: numbered on from
    # the creation's own puts.
    for kept, made, said in (ray.get(AsyncRoom.remote().put_beside_the_creations.remote()) +
                             ["from a coroutine"],
                             ray.get(ThreadedKeeper.remote().put_from_a_thread.remote()) +
                             ["from a thread"]):
        assert kept != made
        assert ray.get(kept) == "from the creation"
        assert ray.get(made) == said


@ray.remote
def noop():
    return None


@ray.remote(max_concurrency=2)
class Sender:
    """One call sends all the time (each task it submits goes out at once); the other returns
    objects it just put, whose only references are in what it returns."""

    def __init__(self):
        self.stop = threading.Event()

    def send_until_stopped(self):
        sent = 0
        while not self.stop.is_set() and sent < 200_000:
            noop.remote()
            sent += 1
        return sent

    def fresh(self, i):
        return [ray.put(i)]

    def stop_sending(self):
        self.stop.set()


@ray.remote
class AsyncSender:
    """The async twin of Sender: one coroutine submits tasks (yielding to the loop now and
    then), the others return objects they just put."""

    def __init__(self):
        self.stop = False

    async def send_until_stopped(self):
        sent = 0
        while not self.stop and sent < 200_000:
            noop.remote()
            sent += 1
            if sent % 10 == 0:
                await asyncio.sleep(0)
        return sent

    async def fresh(self, i):
        return [ray.put(i)]

    async def stop_sending(self):
        self.stop = True


@pytest.mark.parametrize("sender_class, calls", [(Sender, 300), (AsyncSender, 100)],
                         ids=["threaded", "async"])
def test_an_object_a_result_names_outlives_the_call_that_put_it_while_other_calls_send(
        sender_class, calls):
    # The call's own reference goes as it returns (a coroutine's, as it ends); another thread's or
    # coroutine's message sent before the call's result must not free the object the result
    # names. Before, an async actor lost every such object.
    sender = sender_class.remote()
    busy = sender.send_until_stopped.remote()
    try:
        for i in range(calls):
            [inner] = ray.get(sender.fresh.remote(i), timeout=BOUND)
            assert ray.get(inner, timeout=BOUND) == i
    finally:
        ray.get(sender.stop_sending.remote(), timeout=BOUND)
    assert ray.get(busy, timeout=BOUND) > 0
