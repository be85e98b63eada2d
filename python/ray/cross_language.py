"""Calling C++ functions from Python: ray.cpp_function("name").remote(...); and C++ actors:
ray.cpp_actor_class("CreateCounter", "Counter").remote(...), handle.Add.remote(...).

The C++ side registers functions by name with RAY_REMOTE (ray/api/ray_remote.h) in a shared
library, which ray.init(code_search_path=[...]) loads before the workers start. Arguments cross as
msgpack values (None, bool, int, float, str, bytes, list, tuple, dict, numpy scalars) or as
ObjectIDs of values C++ wrote; ray.get returns the results as Python values. See docs/PYTHON.md.
"""

import os

from ray import _raylet
from ray._worker import _auto_init
from ray.remote_function import _check_str, _normalize_options, _resource_list, refuse_unplaceable
from ray.actor import _ACTOR_OPTIONS, ActorHandle, _check_actor_options, _creation, _named_actor


def load_code_search_path(paths):
    """Loads the C++ libraries of paths: shared libraries, or folders whose *.so files load."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    _raylet.load_libraries([os.path.abspath(os.fsdecode(p)) for p in paths])


class CppFunction:
    """A C++ function registered with RAY_REMOTE: f.remote(*args) runs it as a task."""

    def __init__(self, name, options=None):
        if not isinstance(name, str) or not name:
            raise TypeError(f"ray.cpp_function needs a function name, got {name!r}")
        _check_str(name, "ray.cpp_function", "the function name")
        self._name = name
        self._options = dict(options or {})

    def __repr__(self):
        return f"ray.cpp_function({self._name!r})"

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self!r} cannot be called directly: use .remote(...)")

    def remote(self, *args, **kwargs):
        """Submits the call; its ObjectID (a list of them for several return values)."""
        if kwargs:
            raise TypeError(f"{self!r}.remote takes positional arguments only")
        refuse_unplaceable(self._options)
        _auto_init()  # as for Python tasks
        args, nested = _cpp_args(args)
        ids = _raylet.submit_cpp(self._name, args,
                                 num_returns=self._options.get("num_returns", 0),
                                 num_cpus=float(self._options.get("num_cpus", 1.0)),
                                 max_retries=int(self._options.get("max_retries", 3)),
                                 resources=_resource_list(self._options.get("resources")),
                                 nested=nested)
        return ids[0] if len(ids) == 1 else ids

    def options(self, **options):
        """A copy with options: num_returns (must match the function), num_cpus, max_retries,
        resources (custom resources, as for Python functions)."""
        if options.get("retry_exceptions"):
            raise ValueError(f"{self!r}: retry_exceptions is for Python functions only")
        return CppFunction(self._name,
                           {**self._options, **_normalize_options(options, repr(self))})


def cpp_function(name):
    """The C++ function registered as name ("add", "ns::add") in a library that ray.init loaded
    (code_search_path). An unknown name is a ValueError at .remote, naming the loaded libraries."""
    return CppFunction(name)


class CppActorClass:
    """A C++ class made an actor from Python: its factory (a RAY_REMOTE'd function returning T*
    or std::unique_ptr<T>) and its methods registered as "Class::Method" (docs/PYTHON.md)."""

    def __init__(self, factory, class_name, options=None):
        for what, value in (("factory", factory), ("class name", class_name)):
            if not isinstance(value, str) or not value:
                raise TypeError(f"ray.cpp_actor_class needs a {what}, got {value!r}")
            _check_str(value, "ray.cpp_actor_class", f"the {what}")
        self._factory = factory
        self._class_name = class_name
        self._options = _check_actor_options(dict(options or {}), repr(self))

    def __repr__(self):
        return f"ray.cpp_actor_class({self._factory!r}, {self._class_name!r})"

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self!r} cannot be instantiated directly: use .remote(...)")

    def options(self, **options):
        """A copy with actor options: name, num_cpus, resources, max_restarts,
        max_task_retries, get_if_exists (as for @ray.remote classes)."""
        return CppActorClass(self._factory, self._class_name, {**self._options, **options})

    def remote(self, *args, **kwargs):
        """Submits the actor's creation (the factory runs in a worker of its own); its handle."""
        from ray import _worker

        if kwargs:
            raise TypeError(f"{self!r}.remote takes positional arguments only")
        _worker._auto_init()
        actor_type = _raylet.cpp_actor_factory(self._factory, self._class_name)
        options = {**_ACTOR_OPTIONS, **self._options}
        creation = _creation(options, options["max_concurrency"] or 1, actor_type)
        found = _named_actor(options, actor_type)
        if found is not None:
            return CppActorHandle(found[0], self._class_name, actor_type)
        args, nested = _cpp_args(args)
        ids = _raylet.submit_cpp_actor(self._factory, args, creation, nested,
                                       _resource_list(options["resources"]))
        return CppActorHandle(ids[0], self._class_name, actor_type)


class CppActorHandle(ActorHandle):
    """A handle to a C++ actor: handle.Method.remote(...) calls the method registered as
    "Class::Method". A value like any actor handle: pickle it into tasks; ray.kill ends it."""

    def __init__(self, ref, class_name, actor_type):
        self._ref = ref  # the handle's object: the actor's creation's return
        self._class_name = class_name
        self._actor_type = actor_type  # the C++ type's name, which its methods check

    def __reduce__(self):
        return (CppActorHandle, (self._ref, self._class_name, self._actor_type))

    _methods = set()  # (class, C++ type, method) found registered: looked up once

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            _check_str(name, "", "")  # no C++ name holds a lone surrogate
        except ValueError:
            raise AttributeError(
                f"C++ actor class {self._class_name} has no method {name!r}") from None
        key = (self._class_name, self._actor_type, name)
        if key not in CppActorHandle._methods:
            _raylet.cpp_actor_method(*key)  # AttributeError if it has none
            CppActorHandle._methods.add(key)
        method = CppActorMethod(self._ref, self._class_name, self._actor_type, name)
        self.__dict__[name] = method  # the next h.Method finds it without __getattr__
        return method

    def __repr__(self):
        return f"CppActor({self._class_name}, {self._ref.hex()})"


class CppActorMethod:
    """handle.Method of a C++ actor: .remote(*args) calls it. It holds the handle's reference,
    not the handle (which keeps its methods: no cycle)."""

    def __init__(self, ref, class_name, actor_type, name):
        self._ref = ref
        self._class_name = class_name
        self._actor_type = actor_type
        self._name = name

    def __repr__(self):
        return f"{self._class_name}::{self._name}"

    def __call__(self, *args, **kwargs):
        raise TypeError(f"C++ actor method {self!r} cannot be called directly: "
                        f"use .{self._name}.remote(...)")

    def remote(self, *args, **kwargs):
        """Submits the call; its ObjectID (a list of them for a method returning
        ray::Returns<...>)."""
        if kwargs:
            raise TypeError(f"C++ actor method {self!r}.remote takes positional arguments only")
        args, nested = _cpp_args(args)
        ids = _raylet.submit_cpp_method(self._class_name, self._actor_type, self._name,
                                        self._ref, args, nested)
        return ids[0] if len(ids) == 1 else ids


def _cpp_args(args):
    """The arguments of a call of C++, with each C++ actor's handle as ray::ActorHandle<T> reads
    it ([its ID's bytes, its C++ type's name]); and the handles' ObjectIDs, which the call keeps
    alive."""
    values, nested = [], []
    for value in args:
        if isinstance(value, CppActorHandle):
            values.append([value._ref.binary(), value._actor_type])
            nested.append(value._ref)
        else:
            values.append(value)
    return values, nested


def cpp_actor_class(factory, class_name):
    """The C++ actor class made by factory, the RAY_REMOTE'd function ("CreateCounter",
    "Counter::Create") that returns a new class_name ("Counter"), whose methods are registered
    as "Counter::Method". Checked at .remote: an unknown factory is a ValueError naming the
    loaded libraries; an unknown method an AttributeError naming the class's methods."""
    return CppActorClass(factory, class_name)
