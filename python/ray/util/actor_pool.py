"""ActorPool: a fixed set of actors that work through values, each call on an actor that is free
(as Ray's ray.util.ActorPool). `fn(actor, value)` makes the call and returns its ObjectRef.

    pool = ActorPool([Worker.remote(), Worker.remote()])
    list(pool.map(lambda a, v: a.double.remote(v), [1, 2, 3]))  # [2, 4, 6], in order
"""

import collections

import ray


class ActorPool:
    def __init__(self, actors):
        self._idle = list(actors)
        self._waiting = collections.deque()  # (fn, value) submitted while no actor was free
        self._running = {}  # ObjectRef -> (submission index, actor)
        self._by_index = {}  # submission index -> ObjectRef, for results in order
        self._submitted = 0  # submissions given an actor so far
        self._returned = 0  # the next submission index get_next returns

    def submit(self, fn, value):
        """Calls fn(actor, value) on a free actor now, or once one is free. A pool without
        actors has none to wait for: ValueError."""
        if not self._idle and not self._running:
            raise ValueError("ActorPool has no actors: give it some, or push one, first")
        if not self._idle:
            self._waiting.append((fn, value))
            return
        actor = self._idle.pop()
        try:
            ref = fn(actor, value)
        except BaseException:
            self._idle.append(actor)  # fn made no call: the actor stays free
            raise
        self._running[ref] = (self._submitted, actor)
        self._by_index[self._submitted] = ref
        self._submitted += 1

    def has_next(self):
        """Whether a submitted call's result is still to be returned."""
        return bool(self._by_index)  # a waiting submission waits for a running one

    def get_next(self, timeout=None, ignore_if_timedout=False):
        """The next result in submission order; TimeoutError if it is not there within `timeout`
        seconds (with ignore_if_timedout, that call's result is skipped instead of kept)."""
        if not self.has_next():
            raise StopIteration("No more results to get")
        while self._returned not in self._by_index:
            self._returned += 1  # taken out of order by get_next_unordered
        ref = self._by_index[self._returned]
        if timeout is not None and not ray.wait([ref], num_returns=1, timeout=timeout)[0]:
            if ignore_if_timedout:
                self._finish(ref)
            raise TimeoutError("Timed out waiting for result")
        self._finish(ref)
        return ray.get(ref)

    def get_next_unordered(self, timeout=None, ignore_if_timedout=False):
        """The result of any call that is done, the first to finish first; TimeoutError if none
        is within `timeout` seconds."""
        if not self.has_next():
            raise StopIteration("No more results to get")
        ready, _ = ray.wait(list(self._running), num_returns=1, timeout=timeout)
        if not ready:
            raise TimeoutError("Timed out waiting for result")
        ref = ready[0]
        self._finish(ref)
        return ray.get(ref)

    def map(self, fn, values):
        """Results of fn(actor, value) for each value, in the order of `values`."""
        self._drain()
        for value in values:
            self.submit(fn, value)
        while self.has_next():
            yield self.get_next()

    def map_unordered(self, fn, values):
        """The same results in the order they finish."""
        self._drain()
        for value in values:
            self.submit(fn, value)
        while self.has_next():
            yield self.get_next_unordered()

    def has_free(self):
        """Whether an actor is idle and no submission waits for one."""
        return bool(self._idle) and not self._waiting

    def pop_idle(self):
        """Takes an idle actor out of the pool (None if there is none)."""
        return self._idle.pop() if self.has_free() else None

    def push(self, actor):
        """Adds an actor to the pool (it takes a waiting submission at once, if any); one
        already in it (any handle of the same actor) is a ValueError."""
        busy = [a for _, a in self._running.values()]
        if actor in self._idle or actor in busy:
            raise ValueError("Actor already belongs to current ActorPool")
        self._return(actor)

    def _finish(self, ref):
        index, actor = self._running.pop(ref)
        del self._by_index[index]
        self._return(actor)

    def _return(self, actor):
        self._idle.append(actor)
        if self._waiting:
            self.submit(*self._waiting.popleft())

    def _drain(self):
        """Results earlier submissions left behind are dropped (as Ray's map does), once their
        calls are done."""
        while self._by_index:
            self.get_next_unordered()
