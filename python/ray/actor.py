"""Actors: @ray.remote on a class. Cls.remote(...) makes an actor in a worker process of its
own; handle.method.remote(...) calls it there, in the order submitted (a call waiting for an
ObjectRef argument waits alone). The scheduler keeps the actor's queue, restarts it
(max_restarts) and ends it when its last handle is gone, as for C++ actors (docs/API.md).
With max_concurrency > 1 (a threaded actor) up to that many calls run at once, each on a thread
of its own; a class with an `async def` method is an async actor (ray/_async_actor.py), whose
max_concurrency defaults to 1000.
"""

import inspect
import os
import uuid

from ray import _async_actor, _pickling, _raylet
from ray import remote_function
from ray.remote_function import ArgumentCheck, _check_str, _resource_list

_ACTOR_OPTIONS = {"num_cpus": 0.0, "max_restarts": 0, "max_task_retries": 0,
                  "max_concurrency": None, "resources": None, "name": None, "lifetime": None,
                  "get_if_exists": False}
_MAX_CONCURRENCY = 10000  # as ray/common/actor_options.h
_MAX_CPUS = 65536  # as ray/core_worker/limits.h
_MAX_INT = 2**31 - 1
_MAX_RETURNS = 10000  # as ray/core_worker/limits.h
_ASYNC_MAX_CONCURRENCY = 1000  # an async actor's default, as Ray's


def _check_actor_options(options, where):
    unknown = set(options) - set(_ACTOR_OPTIONS)
    if unknown:
        raise TypeError(f"{where}: unsupported actor options: {', '.join(sorted(unknown))}")
    for name in ("max_restarts", "max_task_retries"):
        value = options.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or not -1 <= value <= _MAX_INT:
            raise ValueError(f"{where}: {name} must be an int from -1 to {_MAX_INT}, got {value!r}")
    concurrency = options.get("max_concurrency")
    if concurrency is not None and (not isinstance(concurrency, int) or isinstance(
            concurrency, bool) or not 1 <= concurrency <= _MAX_CONCURRENCY):
        raise ValueError(f"{where}: max_concurrency must be an int from 1 to {_MAX_CONCURRENCY}, "
                         f"got {concurrency!r}")
    if options.get("lifetime") not in (None, "detached", "non_detached"):
        raise ValueError(f"{where}: lifetime must be 'detached', 'non_detached' or None, got "
                         f"{options['lifetime']!r}")
    name = options.get("name")
    if name is not None and (not isinstance(name, str) or not name):
        raise TypeError(f"{where}: name must be a non-empty str, got {name!r}")
    if name is not None:
        _check_str(name, where, "name")  # UTF-8 carries it
    try:
        remote_function.refuse_unplaceable({"resources": options.get("resources") or {}})
    except TypeError as e:
        raise TypeError(f"{where}: {e}") from None
    cpus = options.get("num_cpus", 0.0)
    if not isinstance(cpus, (int, float)) or isinstance(cpus, bool) or not 0 <= cpus <= _MAX_CPUS:
        raise ValueError(f"{where}: num_cpus must be a number from 0 to {_MAX_CPUS}, got {cpus!r}")
    return options


class ActorClass:
    """A class made remote by @ray.remote: Cls.remote(...) makes an actor."""

    def __init__(self, cls, options, token=None, pickled=None):
        self._cls = cls
        self._name = getattr(cls, "__qualname__", None) or repr(cls)
        self._options = _check_actor_options(dict(options), self._name)
        self._token = token or uuid.uuid4().hex
        self._stored = None  # (pid, runtime epoch, ObjectID of the pickled class)
        self._calls = {}  # call description keys -> pickled (as RemoteFunction's)
        self._argument_checks = {}  # method name -> ArgumentCheck
        # The class pickled (bytes): as an actor's creation carried it, or as pickled here once.
        self._pickled = pickled

    def __call__(self, *args, **kwargs):
        raise TypeError(f"actor class {self._name} cannot be instantiated directly: "
                        f"use {self._name}.remote(...)")

    def __reduce__(self):
        # The class's bytes once known; else the class itself, for the pickler at work (a
        # method that names the class pickles it again: only the pickler's memo ends that).
        if self._pickled is not None:
            return (_actor_class_from_pickled, (self._pickled, self._options, self._token))
        return (ActorClass, (self._cls, self._options, self._token))

    def _pickled_class(self):
        if self._pickled is None:
            try:
                self._pickled = _pickling.dumps(self._cls)
            except Exception as e:
                raise TypeError(f"ray cannot serialize actor class {self._name}: {e}") from e
        return self._pickled

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
        creates = _creation(options, concurrency, "python:" + self._name)
        found = _named_actor(options)
        if found is not None:
            return _handle_of(options["name"], found)
        ids = _submit(self, ("create",), args, kwargs, f"{self._name}.__init__", 1,
                      creates_actor=creates, resources=_resource_list(options["resources"]))
        if options["get_if_exists"] and options["name"]:
            # Another caller may have made it since the lookup above: the name is the first
            # creation's (this one then fails), and that actor is the one to hand back.
            found = _raylet.lookup_actor(options["name"])
            if found is not None and found[0] != ids[0]:
                return _handle_of(options["name"], found)
        return ActorHandle(ids[0], self)

    def get_or_create(self, *args, **kwargs):
        """The actor named as .options(name=...) says if it is alive, else a new one made with
        these arguments (as .options(get_if_exists=True).remote(...))."""
        if not self._options.get("name"):
            raise ValueError(f"{self._name}.get_or_create: give the actor a name first: "
                             f"{self._name}.options(name=...).get_or_create(...)")
        return self.options(get_if_exists=True).remote(*args, **kwargs)

    def _argument_check(self, name):
        """The check of a method's arguments at .remote(), made once per method."""
        check = self._argument_checks.get(name)
        if check is None:
            raw = inspect.getattr_static(self._cls, name, None)
            if isinstance(raw, staticmethod):
                function, leaves_out_self = raw.__func__, False
            elif isinstance(raw, classmethod):
                function, leaves_out_self = raw.__func__, True  # its class
            else:
                function, leaves_out_self = getattr(self._cls, name, None), True
            check = ArgumentCheck(function, f"{self._name}.{name}", leaves_out_self)
            self._argument_checks[name] = check
        return check

    def _class_id(self):
        key = (os.getpid(), _raylet.runtime_epoch())
        if self._stored is None or self._stored[:2] != key:
            self._stored = key + (_raylet.put([self._pickled_class()], "function", hidden=True),)
        return self._stored[2]


def _actor_class_from_pickled(pickled, options, token):
    """An ActorClass pickled as its class's bytes (ActorClass.__reduce__); the class unpickled
    once per process and token, as a task's function is."""
    from ray import _executor

    return ActorClass(_executor._function(token, pickled), options, token, pickled)


def _named_actor(options, actor_type=None):
    """For a creation: the live actor of its name that get_if_exists asks for (of `actor_type`
    if given), else None; ValueError if another actor has its name."""
    if not options["name"]:
        return None
    found = _raylet.lookup_actor(options["name"])
    if found is None:
        return None
    if options["get_if_exists"] and actor_type in (None, found[1]):
        return found
    other = f" (a {found[1]})" if actor_type not in (None, found[1]) else ""
    raise ValueError(f"The name {options['name']!r} is already taken by an actor alive in this "
                     f"session{other}")


def _creation(options, concurrency, actor_type):
    """An actor's creation options as _raylet.submit takes them (ActorCreation in C++)."""
    return (int(options["max_restarts"]), int(options["max_task_retries"]), int(concurrency),
            float(options["num_cpus"]), options["name"] or "", actor_type,
            options["lifetime"] == "detached")


class ActorHandle:
    """A handle to an actor: handle.method.remote(...) calls it. Handles are values: pickle
    them into tasks and objects; the actor lives while one of them does."""

    def __init__(self, ref, actor_class):
        self._ref = ref  # the handle's object: the actor's creation's return
        self._class = actor_class

    def __reduce__(self):
        return (ActorHandle, (self._ref, self._class))

    # Handles of one actor are equal (a copy unpickled in a task too): its ObjectID is the actor.
    def __eq__(self, other):
        if not isinstance(other, ActorHandle):
            return NotImplemented
        return self._ref == other._ref

    def __hash__(self):
        return hash(self._ref)

    def __getattr__(self, name):
        function = getattr(self._class._cls, name, None)
        if name.startswith("__") or not callable(function):
            raise AttributeError(f"actor {self._class._name} has no method {name!r}")
        options = getattr(function, "__ray_method_options__", {})
        method = ActorMethod(self._ref, self._class, name, options.get("num_returns", 1))
        self.__dict__[name] = method  # the next h.method finds it without __getattr__
        return method

    def __repr__(self):
        return f"Actor({self._class._name}, {self._ref.hex()})"


class ActorMethod:
    """handle.method: .remote(...) calls it; .options(num_returns=n) for several results. It
    holds the handle's reference, not the handle: a handle keeps its methods (ActorHandle
    __getattr__), and a cycle would keep the actor alive until Python's cycle collector ran."""

    def __init__(self, ref, actor_class, name, num_returns=1):
        self._ref = ref
        self._class = actor_class
        self._name = name
        self._num_returns = num_returns
        self._kind = ("call", name)
        self._arguments = actor_class._argument_check(name)
        from ray import _worker

        if _worker._session is not None and _worker._session.local_mode:
            self._kind += (ref.hex(),)  # every actor lives in the driver: the call names its own
        self._task_name = f"{actor_class._name}.{name}"

    def __call__(self, *args, **kwargs):
        raise TypeError(f"actor method {self._name} cannot be called directly: "
                        f"use .{self._name}.remote(...)")

    def options(self, num_returns=1):
        if not isinstance(num_returns, int) or isinstance(num_returns, bool) or not (
                1 <= num_returns <= _MAX_RETURNS):
            raise ValueError(f"{self._task_name}.options: num_returns must be an int from 1 to "
                             f"{_MAX_RETURNS}, got {num_returns!r}")
        return ActorMethod(self._ref, self._class, self._name, num_returns)

    def remote(self, *args, **kwargs):
        self._arguments.check(args, kwargs)
        ids = _submit(self._class, self._kind, args, kwargs, self._task_name, self._num_returns,
                      actor=self._ref)
        return ids[0] if self._num_returns == 1 else ids


def _submit(actor_class, kind, args, kwargs, name, num_returns, actor=None, creates_actor=None,
            resources=()):
    from ray import _worker

    _worker._auto_init()
    call = remote_function._call_description(
        actor_class._calls, actor_class._token,
        (tuple(kwargs), num_returns, name, remote_function._working_dir(), (0, False), kind))
    # A call's process has the class already (its creation ran there first): it gets none.
    first = actor_class._class_id() if kind[0] == "create" else [b""]
    task_args, nested = remote_function._task_arguments(first, call, args, kwargs)
    return _raylet.submit(task_args, num_returns, 0.0, 0, name, nested, list(resources),
                          actor=actor, creates_actor=creates_actor)


class _ActorExit(BaseException):
    """Raised by exit_actor: it ends the running call (which fails with ActorDiedError)."""


def exit_actor():
    """In an actor's method: the actor ends once this call is over (its __del__ runs, it does not
    restart); the call fails with ActorDiedError, and so do later ones."""
    from ray import _worker

    if _worker._session is not None and _worker._session.local_mode:
        raise TypeError("exit_actor(): in local mode an actor lives in the driver; it cannot exit")
    _raylet.exit_actor()
    raise _ActorExit()


def method(num_returns=1):
    """@ray.method(num_returns=2) on an actor's method: its calls return that many ObjectRefs
    (.options(num_returns=...) at the call still overrides it)."""
    if not isinstance(num_returns, int) or isinstance(num_returns, bool) or num_returns < 1:
        raise ValueError(f"ray.method: num_returns must be an int >= 1, got {num_returns!r}")

    def mark(function):
        function.__ray_method_options__ = {"num_returns": num_returns}
        return function

    return mark


def get_actor(name):
    """The handle of the actor named `name` in this session (.options(name=...)); ValueError if
    there is none."""
    from ray import _worker

    _check_str(name, "ray.get_actor", "name")
    _worker._auto_init()
    found = _raylet.lookup_actor(name)
    if found is None:
        raise ValueError(f"Failed to look up actor with name '{name}'")
    return _handle_of(name, found)


def _handle_of(name, found):
    """The handle of the actor `name` from what _raylet.lookup_actor found."""
    from ray import _worker

    ref, type_ = found
    if not type_.startswith("python:"):  # a C++ actor: its methods are registered as Type::M
        from ray.cross_language import CppActorHandle

        return CppActorHandle(ref, type_, type_)
    return ActorHandle(ref, _worker.get(ref))  # its creation returned its class


def kill(handle, no_restart=True):
    """Ends the actor's process at once; its calls not done fail with ActorDiedError (unless it
    restarts: no_restart=False and max_restarts allows)."""
    if not isinstance(handle, ActorHandle):
        raise TypeError(f"ray.kill takes an actor handle, got {type(handle).__name__}")
    if not isinstance(no_restart, int):  # bool is an int
        raise TypeError(f"ray.kill: no_restart must be a bool, got {type(no_restart).__name__} "
                        f"{no_restart!r}")
    _raylet.kill_actor(handle._ref, bool(no_restart))
