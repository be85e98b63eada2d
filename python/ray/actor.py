"""Actors: @ray.remote on a class. Cls.remote(...) makes an actor in a worker process of its
own; handle.method.remote(...) calls it there, in the order submitted (a call waiting for an
ObjectRef argument waits alone). The scheduler keeps the actor's queue, restarts it
(max_restarts) and ends it when its last handle is gone, as for C++ actors (docs/API.md).
With max_concurrency > 1 (a threaded actor) up to that many calls run at once, each on a thread
of its own; a class with an `async def` method is an async actor (ray/_async_actor.py), whose
max_concurrency defaults to 1000.
"""

import os
import uuid

from ray import _async_actor, _pickling, _raylet

_ACTOR_OPTIONS = {"num_cpus": 0.0, "max_restarts": 0, "max_task_retries": 0,
                  "max_concurrency": None, "resources": None, "name": None, "lifetime": None}
_MAX_CONCURRENCY = 10000  # as ray/common/actor_options.h
_ASYNC_MAX_CONCURRENCY = 1000  # an async actor's default, as Ray's


def _check_actor_options(options, where):
    unknown = set(options) - set(_ACTOR_OPTIONS)
    if unknown:
        raise TypeError(f"{where}: unsupported actor options: {', '.join(sorted(unknown))}")
    for name in ("max_restarts", "max_task_retries"):
        value = options.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < -1:
            raise ValueError(f"{where}: {name} must be an int >= -1, got {value!r}")
    concurrency = options.get("max_concurrency")
    if concurrency is not None and (not isinstance(concurrency, int) or isinstance(
            concurrency, bool) or not 1 <= concurrency <= _MAX_CONCURRENCY):
        raise ValueError(f"{where}: max_concurrency must be an int from 1 to {_MAX_CONCURRENCY}, "
                         f"got {concurrency!r}")
    if options.get("lifetime") is not None:
        raise ValueError(f"{where}: lifetime= (detached actors) is not supported yet")
    name = options.get("name")
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"{where}: name must be a non-empty str, got {name!r}")
    if options.get("resources"):
        raise ValueError(f"{where}: resources= for actors is not supported yet")
    cpus = options.get("num_cpus", 0.0)
    if not isinstance(cpus, (int, float)) or isinstance(cpus, bool) or cpus < 0:
        raise ValueError(f"{where}: num_cpus must be a number >= 0, got {cpus!r}")
    return options


class ActorClass:
    """A class made remote by @ray.remote: Cls.remote(...) makes an actor."""

    def __init__(self, cls, options, token=None):
        self._cls = cls
        self._name = getattr(cls, "__qualname__", None) or repr(cls)
        self._options = _check_actor_options(dict(options), self._name)
        self._token = token or uuid.uuid4().hex
        self._stored = None  # (pid, runtime epoch, ObjectID of the pickled class)

    def __call__(self, *args, **kwargs):
        raise TypeError(f"actor class {self._name} cannot be instantiated directly: "
                        f"use {self._name}.remote(...)")

    def __reduce__(self):
        return (ActorClass, (self._cls, self._options, self._token))

    def options(self, **options):
        """A class that makes actors with these options: Cls.options(max_restarts=1).remote()."""
        return ActorClass(self._cls, {**self._options, **options}, self._token)

    def remote(self, *args, **kwargs):
        from ray import _worker

        _worker._auto_init()
        options = {**_ACTOR_OPTIONS, **self._options}
        concurrency = options["max_concurrency"]
        if concurrency is None:
            concurrency = _ASYNC_MAX_CONCURRENCY if _async_actor.is_async(self._cls) else 1
        creates = (int(options["max_restarts"]), int(options["max_task_retries"]),
                   int(concurrency), float(options["num_cpus"]),
                   options["name"] or "", "python:" + self._name)
        ids = _submit(self, ("create",), args, kwargs, f"{self._name}.__init__", 1,
                      creates_actor=creates)
        return ActorHandle(ids[0], self)

    def _class_id(self):
        key = (os.getpid(), _raylet.runtime_epoch())
        if self._stored is None or self._stored[:2] != key:
            try:
                pickled = _pickling.dumps(self._cls)
            except Exception as e:
                raise TypeError(f"ray cannot serialize actor class {self._name}: {e}") from e
            self._stored = key + (_raylet.put([pickled], "function", hidden=True),)
        return self._stored[2]


class ActorHandle:
    """A handle to an actor: handle.method.remote(...) calls it. Handles are values: pickle
    them into tasks and objects; the actor lives while one of them does."""

    def __init__(self, ref, actor_class):
        self._ref = ref  # the handle's object: the actor's creation's return
        self._class = actor_class

    def __reduce__(self):
        return (ActorHandle, (self._ref, self._class))

    def __getattr__(self, name):
        if name.startswith("__") or not callable(getattr(self._class._cls, name, None)):
            raise AttributeError(f"actor {self._class._name} has no method {name!r}")
        return ActorMethod(self, name)

    def __repr__(self):
        return f"Actor({self._class._name}, {self._ref.hex()})"


class ActorMethod:
    """handle.method: .remote(...) calls it; .options(num_returns=n) for several results."""

    def __init__(self, handle, name, num_returns=1):
        self._handle = handle
        self._name = name
        self._num_returns = num_returns

    def __call__(self, *args, **kwargs):
        raise TypeError(f"actor method {self._name} cannot be called directly: "
                        f"use .{self._name}.remote(...)")

    def options(self, num_returns=1):
        return ActorMethod(self._handle, self._name, num_returns)

    def remote(self, *args, **kwargs):
        handle = self._handle
        ids = _submit(handle._class, ("call", self._name), args, kwargs,
                      f"{handle._class._name}.{self._name}", self._num_returns,
                      actor=handle._ref)
        return ids[0] if self._num_returns == 1 else ids


def _submit(actor_class, kind, args, kwargs, name, num_returns, actor=None, creates_actor=None):
    from ray import _worker

    _worker._auto_init()
    working_dir = _worker._working_dir()
    call = _pickling.dumps((actor_class._token, tuple(kwargs), num_returns, name, working_dir,
                            (0, False), kind))
    task_args = [actor_class._class_id(), [call]]
    nested = b""
    for values in (args, kwargs.values()):
        for value in values:
            if isinstance(value, _raylet.ObjectID):
                task_args.append(value)
            else:
                parts, _, ids = _worker._serialize(value)
                task_args.append(parts)
                nested += ids
    return _raylet.submit(task_args, num_returns, 0.0, 0, name, nested, [], actor=actor,
                          creates_actor=creates_actor)


def get_actor(name):
    """The handle of the actor named `name` in this session (.options(name=...)); ValueError if
    there is none."""
    from ray import _worker

    _worker._auto_init()
    found = _raylet.lookup_actor(name)
    if found is None:
        raise ValueError(f"Failed to look up actor with name '{name}'")
    ref, type_ = found
    if not type_.startswith("python:"):
        raise ValueError(f"actor '{name}' is a C++ actor ({type_}): call it from C++")
    return ActorHandle(ref, _worker.get(ref))  # its creation returned its class


def kill(handle, no_restart=True):
    """Ends the actor's process at once; its calls not done fail with ActorDiedError (unless it
    restarts: no_restart=False and max_restarts allows)."""
    if not isinstance(handle, ActorHandle):
        raise TypeError(f"ray.kill takes an actor handle, got {type(handle).__name__}")
    _raylet.kill_actor(handle._ref, no_restart)
