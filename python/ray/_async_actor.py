"""Async actors: an actor whose class has an `async def` method. Its methods run on one asyncio
event loop, in a thread of the actor's process that the loop has to itself. The worker runs the
actor's calls on threads of their own (up to max_concurrency at once, default 1000); each hands
its call to the loop and waits for it there, so up to max_concurrency coroutines run at once
on the one loop (a method that is not `async def` runs on the loop too, blocking it meanwhile).
In a coroutine, `await ref` (an ObjectRef) reads its value without blocking the loop."""

import asyncio
import inspect
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
        self._loop = asyncio.new_event_loop()
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
        # Waits without the GIL: the loop and the other call threads run meanwhile.
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()
