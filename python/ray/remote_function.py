"""Remote functions: @ray.remote on a function makes a RemoteFunction, whose .remote(...) submits
a task (its function pickled once per session and process, each call's description once per
shape); @ray.remote on a class makes an ActorClass (ray/actor.py). ArgumentCheck checks a call's
arguments against the function's signature at .remote(), for tasks and actors' methods."""

import functools
import inspect
import uuid

from ray import _pickling, _raylet, _runtime_env, _worker
from ray._pickling import serialize as _serialize

ObjectID = _raylet.ObjectID


_DEFAULT_OPTIONS = {"num_returns": 1, "num_cpus": 1.0, "max_retries": 3,
                    "retry_exceptions": False}


def _normalize_options(options, where):
    """The options as the task runs with them; TypeError or ValueError, prefixed with `where`,
    for options that are unknown, of the wrong type or past their limits."""
    options = dict(options)
    if "num_return_vals" in options:  # the 2016 name
        if "num_returns" in options:
            raise TypeError("give num_returns or num_return_vals, not both")
        options["num_returns"] = options.pop("num_return_vals")
    for name in ("num_gpus", "resources"):  # refused at .remote() (refuse_unplaceable)
        if options.get(name) in (0, None, {}):
            options.pop(name, None)
    if "name" in options:
        _check_str(options["name"], where, "the task option name")
    unknown = set(options) - set(_DEFAULT_OPTIONS) - {"name", "num_gpus", "resources"}
    if unknown:
        raise TypeError(f"unsupported remote options: {', '.join(sorted(unknown))}")
    retry = options.get("retry_exceptions", False)
    if not (isinstance(retry, bool) or (isinstance(retry, (list, tuple)) and all(
            isinstance(c, type) and issubclass(c, BaseException) for c in retry))):
        raise TypeError("retry_exceptions must be True, False or a list of exception classes, "
                        f"got {retry!r}")
    if isinstance(retry, list):
        options["retry_exceptions"] = tuple(retry)
    _check_limits({**_DEFAULT_OPTIONS, **options}, where)
    return options


def _check_str(value, where, what):
    """`value` if it is a str that UTF-8 can carry (names reach C++ as UTF-8): else TypeError
    (not a str) or ValueError (a lone surrogate, as os.fsdecode makes of undecodable bytes)."""
    if not isinstance(value, str):
        raise TypeError(f"{where}: {what} must be a str, got {type(value).__name__} {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"{where}: {what} {value!r} is not valid UTF-8 (a lone surrogate at "
                         f"index {e.start})") from None
    return value


def _check_limits(options, where):
    """Raises TypeError for num_returns, num_cpus or max_retries of the wrong type, and
    ValueError past their limits: those of ray/core_worker/limits.h, which the C++ API checks
    too (the same message)."""
    checked = {}
    for name, types in (("num_returns", int), ("num_cpus", (int, float)), ("max_retries", int)):
        value = options[name]
        if isinstance(value, bool) or not isinstance(value, types):
            kind = "an int" if types is int else "a number"
            raise TypeError(f"{where}: {name} must be {kind}, got {type(value).__name__}")
        checked[name] = value
    message = _raylet.check_task_options(_worker._as_c_int(checked["num_returns"]),
                                         float(checked["num_cpus"]),
                                         _worker._as_c_int(checked["max_retries"]))
    if message:
        message = _worker._with_value(message, {name: checked[name]
                                        for name in ("num_returns", "max_retries")})
        raise ValueError(f"{where}: {message}")


class RemoteFunction:
    """A function made remote by @ray.remote: call f.remote(...) to run it as a task."""

    def __init__(self, function, options, token=None):
        if isinstance(function, type):
            raise TypeError("@ray.remote on a class (actors) is not supported yet")
        if not callable(function):
            raise TypeError(f"@ray.remote needs a function, got {type(function).__name__}")
        self._function = function
        self._name = getattr(function, "__qualname__", None) or repr(function)
        self._options = {**_DEFAULT_OPTIONS, **_normalize_options(options, self._name)}
        # Names the function in workers' caches; the same in every copy of this object.
        self._token = token or uuid.uuid4().hex
        self._pickled = None
        self._stored = None  # (pid, runtime epoch, ObjectID of the pickled function)
        self._calls = {}  # (keyword names, num_returns, name, working dir) -> call description
        self._arguments = ArgumentCheck(function, self._name)
        functools.update_wrapper(self, function)

    def __call__(self, *args, **kwargs):
        raise TypeError(f"remote function {self._name} cannot be called directly: "
                        f"use {self._name}.remote(...)")

    def __reduce__(self):
        return (RemoteFunction, (self._function, self._options, self._token))

    def remote(self, *args, **kwargs):
        return self._submit(args, kwargs, self._options)

    def options(self, **options):
        """A handle that submits with these options: f.options(num_returns=2).remote(...)."""
        merged = {**self._options, **_normalize_options(options, self._name)}
        outer = self

        class _WithOptions:
            def remote(self, *args, **kwargs):
                return outer._submit(args, kwargs, merged)

        return _WithOptions()

    def _function_id(self):
        key = (_worker._pid, _raylet.runtime_epoch())
        if self._stored is None or self._stored[:2] != key:
            if self._pickled is None:
                try:
                    self._pickled = _pickling.dumps(self._function)
                except Exception as e:
                    raise TypeError(
                        f"ray cannot serialize remote function {self._name}: {e}") from e
            self._stored = key + (_raylet.put([self._pickled], "function", hidden=True),)
        return self._stored[2]

    def _submit(self, args, kwargs, options):
        refuse_unplaceable(options)
        _worker._auto_init()
        self._arguments.check(args, kwargs)
        num_returns = options["num_returns"]
        name = options.get("name") or self._name
        working_dir = _working_dir()
        # Exceptions are retried in the worker (crashes by the scheduler, also max_retries).
        retries = (options["max_retries"], options["retry_exceptions"])
        call = _call_description(self._calls, self._token,
                                 (tuple(kwargs), num_returns, name, working_dir, retries))
        task_args, nested = _task_arguments(self._function_id(), call, args, kwargs)
        resources = _resource_list(options.get("resources"))
        ids = _raylet.submit(task_args, num_returns, float(options["num_cpus"]),
                             int(options["max_retries"]), name, nested, resources)
        return ids[0] if num_returns == 1 else ids


def _resource_list(resources):
    """Custom resources ({name: amount}, or None) as _raylet takes them."""
    return [(k, float(v)) for k, v in (resources or {}).items()]


class ArgumentCheck:
    """Raises TypeError, as a call would, if arguments do not fit a function (a task's, or an
    actor's method's, whose `self` the check leaves out). The signature is read at the first
    call; a call of n positional arguments to a function of n plain parameters skips the bind."""

    def __init__(self, function, name, leaves_out_self=False):
        self._function = function
        self._name = name
        self._leaves_out_self = leaves_out_self
        self._signature = _UNKNOWN  # inspect.Signature, None if it has none; _UNKNOWN: not yet
        self._positional = None  # n if every call binds exactly n positional arguments

    def check(self, args, kwargs):
        if self._signature is _UNKNOWN:
            self._read_signature()
        if self._signature is None or (not kwargs and len(args) == self._positional):
            return
        try:
            self._signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{self._name}(): {e}") from None

    def _read_signature(self):
        try:
            signature = inspect.signature(self._function)
        except (TypeError, ValueError):  # no signature to check against (some builtins)
            self._signature = None
            return
        params = list(signature.parameters.values())
        if self._leaves_out_self and params:
            signature = signature.replace(parameters=params[1:])
            params = params[1:]
        self._signature = signature
        if all(p.kind == p.POSITIONAL_OR_KEYWORD and p.default is p.empty for p in params):
            self._positional = len(params)


_UNKNOWN = object()


def _working_dir():
    """The working directory tasks run in (runtime_env). The driver made the copy after the
    workers were forked: they know it from their tasks."""
    session = _worker._session
    return (session.working_dir if session is not None else None) or _runtime_env.entered()


def refuse_unplaceable(options):
    """Raises ValueError for requests the scheduler cannot honour yet (GPUs), and TypeError for
    resources that are not a dict of names to numbers. At the call, not at @ray.remote: code may
    define such functions and not call them here."""
    if "num_gpus" in options:
        raise ValueError(f"num_gpus={options['num_gpus']!r}: libray places tasks by CPUs and "
                         "custom resources, it cannot give a task GPUs yet")
    resources = options.get("resources", {})
    if not isinstance(resources, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            for k, v in resources.items()):
        raise TypeError(f"resources must be a dict of names to numbers, got {resources!r}")


def remote(*args, **kwargs):
    """@ray.remote, or @ray.remote(num_returns=3) (also num_return_vals=3, num_cpus=...)."""
    from ray.actor import ActorClass

    def make(target, options):
        if isinstance(target, type):
            return ActorClass(target, options)
        return RemoteFunction(target, options)

    if len(args) == 1 and not kwargs and callable(args[0]):
        return make(args[0], {})
    if args:
        raise TypeError("@ray.remote takes a function or a class, or keyword options only")
    return lambda target: make(target, kwargs)


def _call_description(cache, token, key):
    """The pickled description of a call of `token` (key: its keyword names, num_returns, name,
    working dir and what else the worker needs), made once per key in `cache`."""
    call = cache.get(key)
    if call is None:
        call = _pickling.dumps((token,) + key)
        cache[key] = call
    return call


def _task_arguments(first, call, args, kwargs):
    """A task's argument list for ray._raylet.submit ([first, call description, *args,
    *kwargs values], an ObjectRef by reference, any other value serialized) and the ObjectIDs
    inside its values (not waited for, kept alive while it runs)."""
    task_args = [first, [call]]
    nested = b""
    for values in (args, kwargs.values()):
        for value in values:
            if isinstance(value, ObjectID):
                task_args.append(value)
            else:
                parts, _, ids = _serialize(value)
                task_args.append(parts)
                nested += ids
    return task_args, nested
