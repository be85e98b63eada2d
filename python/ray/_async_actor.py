"""Async actors: an actor whose class has an `async def` method. Its methods run on one asyncio
event loop, in a thread of the actor's process that the loop has to itself.

In a worker, the actor's calls defer (ray/core_worker/call_threads.h): the worker's invoker hands
each call to the loop without taking the GIL and returns, and no thread waits for it. The loop
takes the calls in when an eventfd says some came, in the order they came, and starts each as a
task of the loop (up to max_concurrency open at once, default 1000: the worker holds the rest);
a method that is not `async def` runs on the loop too, blocking it meanwhile. What the calls that
ended in one turn of the loop returned or raised goes back to the worker at once, which sends it
to the scheduler. Where calls cannot defer (local mode), each call waits for its coroutine.

In a coroutine, `await ref` (an ObjectRef) reads its value without blocking the loop. A plain
`ray.get` blocks the loop until it returns, as in Ray: the actor's other coroutines wait
meanwhile (new calls are still taken in and start once it returns), so a coroutine that gets the
result of a call to its own actor queued behind it waits forever; `await` it instead."""

import asyncio
import inspect
import sys
import threading

from ray import _raylet


def is_async(cls):
    """Whether the class has an `async def` method (its own or inherited)."""
    return any(inspect.iscoroutinefunction(getattr(cls, name, None)) for name in dir(cls)
               if not name.startswith("__"))


def _await_object(ref):
    """`await ref`: ray.get(ref) on a thread of the loop's default executor, the loop running on
    meanwhile."""
    from ray import _worker

    return asyncio.get_running_loop().run_in_executor(None, _worker.get, ref).__await__()


_raylet.ObjectID.__await__ = _await_object  # every ObjectRef is awaitable


class EventLoop:
    """The actor's event loop, running in a daemon thread from its creation on."""

    def __init__(self):
        from ray import _executor

        self._executor = _executor  # runs the calls' Python side (imported here: it imports this)
        self._loop = asyncio.new_event_loop()
        self._ended = []  # (call, outcome) of the calls that ended in this turn of the loop
        # The calls' tasks: the loop holds a task only weakly, and one waiting on a future only
        # it references would be collected mid-call (its coroutine closed: GeneratorExit).
        self._tasks = set()
        self._exiting = False  # ray.actor.exit_actor was called
        self._warned = False  # of a blocking call on the loop
        fd = _raylet.defer_actor_calls()  # None: calls wait for their coroutines (call())
        if fd is not None:
            self._loop.add_reader(fd, self._take_calls)
        self._thread = threading.Thread(target=self._loop.run_forever, name="ray-async-actor",
                                        daemon=True)
        self._thread.start()

    def call(self, method, args, kwargs):
        """method(*args, **kwargs) on the loop; its result, or its exception raised here."""
        if inspect.iscoroutinefunction(method):
            coroutine = method(*args, **kwargs)
        else:
            async def run_on_loop():
                return method(*args, **kwargs)
            coroutine = run_on_loop()
        # Waits without the GIL (local mode, where calls cannot defer): the loop runs meanwhile.
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def note_blocking(self, what):
        """A blocking call (ray.get): on the loop's thread, it stops the loop until it returns.
        Says so once, as Ray does."""
        if self._warned or threading.get_ident() != self._thread.ident:
            return
        self._warned = True
        print(f"ray: {what} in an async actor's method blocks its event loop: the actor's other "
              "calls wait until it returns; use `await ref` instead", file=sys.stderr)

    def _take_calls(self):
        start = self._executor._start_actor_call
        for call, buffers in _raylet.take_deferred_calls():
            start(call, buffers, self)

    def start(self, call, method, args, kwargs, name, num_returns):
        """Starts the call's method as a task of the loop (on the loop's thread); once the actor
        exits, a call handed over meanwhile fails as its later calls do."""
        if self._exiting:
            self._end_exited(call, name)
            return
        task = self._loop.create_task(self._run(call, method, args, kwargs, name, num_returns))
        self._tasks.add(task)
        task.add_done_callback(lambda task: self._task_done(task, call, name))

    def _task_done(self, task, call, name):
        self._tasks.discard(task)
        if task.cancelled():
            self._end_exited(call, name)

    def _end_exited(self, call, name):
        """The call fails as the actor exits: its task was cancelled before its coroutine began
        (exit_actor cancels the loop's tasks), or it came after the exit."""
        from ray.actor import _ActorExit

        self.end(call, self._executor._failure(_ActorExit(), name))

    async def _run(self, call, method, args, kwargs, name, num_returns):
        _executor = self._executor
        _executor._begin_task(name)
        try:
            try:
                result = method(*args, **kwargs)
                if inspect.iscoroutine(result):
                    result = await result
                outcome = _executor._results(result, num_returns)
            finally:
                _executor._end_task()
        except BaseException as e:  # noqa: BLE001 (the call's exception, for its caller)
            from ray.actor import _ActorExit

            if isinstance(e, _ActorExit):
                self._exit()
            elif self._exiting and isinstance(e, asyncio.CancelledError):
                e = _ActorExit()  # it fails as the actor's later calls do
            outcome = _executor._failure(e, name)
        self.end(call, outcome)

    def _exit(self):
        """ray.actor.exit_actor in a call: the worker starts no more calls and ends once the open
        ones have; the loop's tasks are cancelled (open calls fail with ActorDiedError)."""
        self._exiting = True
        current = asyncio.current_task()
        for task in asyncio.all_tasks(self._loop):
            if task is not current:
                task.cancel()

    def end(self, call, outcome):
        """The call ended: its outcome goes to the worker after this turn of the loop, with
        those of the other calls that end in it."""
        if not self._ended:
            self._loop.call_soon(self._hand_back)
        self._ended.append((call, outcome))

    def _hand_back(self):
        ended, self._ended = self._ended, []
        _raylet.finish_calls(ended)
