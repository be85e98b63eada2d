"""The ray API over the extension module ray._raylet (see ray/python_embed/raylet.cc)."""

import atexit
import functools
import os
import pickle
import sys
import traceback
import types
import uuid

import cloudpickle

from ray import _raylet, _task_output
from ray.exceptions import RayError, _from_error_info, type_name

ObjectID = _raylet.ObjectID

# ---------------------------------------------------------------------------------------------
# Values

# Types that the standard pickler writes as fast as possible and in full; everything else goes
# through cloudpickle (functions, lambdas and classes defined in __main__ are pickled by value).
_PLAIN_TYPES = frozenset([int, float, str, bytes, bool, type(None), complex])


def _serialize(value):
    """(parts, type name, nested IDs) of a value: parts[0] is its pickle (protocol 5) stream,
    the rest its out-of-band buffers (numpy arrays' data), which ray._raylet copies once into the
    object and ray.get maps back read-only, with no copy. The nested IDs (bytes) name the
    ObjectIDs inside the value: the runtime keeps those objects alive as long as the value."""
    if type(value) in _PLAIN_TYPES:
        return [pickle.dumps(value, protocol=5)], type(value).__qualname__, b""
    buffers = []
    try:
        stream, nested = _raylet.collect_ids(functools.partial(
            cloudpickle.dumps, value, protocol=5, buffer_callback=_out_of_band(buffers)))
    except Exception as e:
        raise TypeError(f"ray cannot serialize {type(value).__name__} object: {e}") from e
    return [stream] + buffers, type(value).__qualname__, nested


def _out_of_band(buffers):
    """A pickle buffer_callback: contiguous buffers go out of band (into `buffers`)."""
    def callback(pickle_buffer):
        try:
            buffers.append(pickle_buffer.raw())
        except BufferError:  # not contiguous: pickled in band
            return True
        return False
    return callback


def _deserialize(buffer):
    """The value of an object (an _raylet.ObjectBuffer); raises the error an error object holds.
    Arrays in the value are read-only views of the object's memory."""
    fmt = buffer.format
    if fmt == _raylet.FORMAT_PICKLE:
        return pickle.loads(buffer, buffers=buffer.oob_buffers())
    if fmt == _raylet.FORMAT_ERROR:
        raise _from_error_info(buffer.error_info())
    if fmt in (_raylet.FORMAT_MSGPACK, _raylet.FORMAT_RAW):  # written by C++ (cross_language)
        return _raylet.object_to_python(buffer)
    raise TypeError(f"ray.get: the object is not a Python value: {buffer.describe()}")


# ---------------------------------------------------------------------------------------------
# init / shutdown


def init(start_ray_local=True, num_workers=None, num_cpus=None, object_store_memory=None,
         ignore_reinit_error=False, address=None, code_search_path=None, _max_workers=None,
         **unsupported):
    """Starts ray on this machine: an object store and worker processes forked from this one.

    ray.init(start_ray_local=True, num_workers=10) as in the 2016 tutorial, or
    ray.init(num_cpus=4) as today. num_workers defaults to num_cpus (rounded up), or to the
    number of cores; num_cpus defaults to num_workers. code_search_path: C++ shared libraries
    (or folders of them) whose RAY_REMOTE functions ray.cpp_function calls. _max_workers:
    worker processes at most, blocked ones included (default 256; past it, a worker blocked in
    ray.get runs ready tasks inside its wait).
    """
    if unsupported:
        raise TypeError(f"ray.init: unsupported arguments: {', '.join(sorted(unsupported))}")
    if not start_ray_local or address not in (None, "local"):
        raise NotImplementedError("ray.init: only a local node is supported yet")
    if _raylet.is_initialized():
        if ignore_reinit_error or not _raylet.is_driver():
            return None
        raise RuntimeError("ray.init: ray is already initialized (call ray.shutdown() first)")
    if num_workers is None:
        num_workers = int(-(-num_cpus // 1)) if num_cpus else 0
    if num_cpus is None:
        num_cpus = 0
    # Workers are forks of this process: what sits in these buffers now would be printed by
    # every worker that flushes them.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    if code_search_path:  # before the workers are forked, so that they have the libraries
        from ray.cross_language import load_code_search_path
        load_code_search_path(code_search_path)
    _raylet.init(num_workers=int(num_workers), num_cpus=float(num_cpus),
                 object_store_memory=int(object_store_memory or 0),
                 max_workers=int(_max_workers or 0))
    _register_atexit()
    return None


@functools.lru_cache(maxsize=None)
def _register_atexit():
    atexit.register(shutdown)


def shutdown():
    """Stops what ray.init started (also happens at exit). A no-op in a worker."""
    _raylet.shutdown()


def is_initialized():
    return _raylet.is_initialized()


def cluster_resources():
    """The node's resources: {"CPU": num_cpus, "object_store_memory": bytes}."""
    return _resources(available=False, api="ray.cluster_resources")


def available_resources():
    """What is free now: CPUs no running task holds, bytes the store has left."""
    return _resources(available=True, api="ray.available_resources")


def _resources(available, api):
    if not _raylet.is_initialized():
        raise RayError(f"{api}: ray is not initialized: call ray.init() first")
    if not _raylet.is_driver():
        raise RayError(f"{api}: only the driver can tell (this is a worker)")
    return _raylet.resources(available)


# ---------------------------------------------------------------------------------------------
# Objects


def put(value):
    """Stores value in the object store; returns its ObjectID."""
    if isinstance(value, ObjectID):
        raise TypeError("ray.put of an ObjectID is not supported; put the value instead")
    parts, name, nested = _serialize(value)
    return _raylet.put(parts, name, nested=nested)


def _check_ids(ids, api):
    for i in ids:
        if not isinstance(i, ObjectID):
            raise TypeError(f"{api} expects ObjectIDs (or a list of them), got {type(i).__name__}")


def get(object_ids, timeout=None):
    """The value of an ObjectID, or the list of values of a list of ObjectIDs.

    Blocks until they exist (at most timeout seconds: ray.exceptions.GetTimeoutError). A task
    that raised re-raises here as ray.exceptions.RayTaskError (also an instance of the task's
    exception type).
    """
    single = isinstance(object_ids, ObjectID)
    ids = [object_ids] if single else list(object_ids)
    _check_ids(ids, "ray.get")
    if not ids:
        return []
    values = [_deserialize(b) for b in _raylet.get(ids, timeout)]
    return values[0] if single else values


def wait(object_ids, num_returns=1, timeout=None):
    """(ready, not_ready): waits until num_returns of object_ids exist or timeout seconds pass."""
    if isinstance(object_ids, ObjectID):
        raise TypeError("ray.wait expects a list of ObjectIDs")
    ids = list(object_ids)
    _check_ids(ids, "ray.wait")
    if len(set(ids)) != len(ids):
        raise ValueError("ray.wait: the list of ObjectIDs has duplicates")
    if num_returns < 0 or num_returns > len(ids):
        raise ValueError(f"ray.wait: num_returns={num_returns} with {len(ids)} ObjectIDs")
    if not ids:
        return [], []
    ready, not_ready = _raylet.wait(ids, num_returns, timeout)
    return [ids[i] for i in ready], [ids[i] for i in not_ready]


# ---------------------------------------------------------------------------------------------
# Remote functions

_DEFAULT_OPTIONS = {"num_returns": 1, "num_cpus": 1.0, "max_retries": 3}


def _normalize_options(options):
    options = dict(options)
    if "num_return_vals" in options:  # the 2016 name
        if "num_returns" in options:
            raise TypeError("give num_returns or num_return_vals, not both")
        options["num_returns"] = options.pop("num_return_vals")
    if options.get("num_gpus", 0) in (0, None):
        options.pop("num_gpus", None)
    unknown = set(options) - set(_DEFAULT_OPTIONS)
    if unknown:
        raise TypeError(f"unsupported remote options: {', '.join(sorted(unknown))}")
    n = options.get("num_returns", 1)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"num_returns must be an int >= 1, got {n!r}")
    return options


class RemoteFunction:
    """A function made remote by @ray.remote: call f.remote(...) to run it as a task."""

    def __init__(self, function, options, token=None):
        if isinstance(function, type):
            raise TypeError("@ray.remote on a class (actors) is not supported yet")
        if not callable(function):
            raise TypeError(f"@ray.remote needs a function, got {type(function).__name__}")
        self._function = function
        self._options = {**_DEFAULT_OPTIONS, **_normalize_options(options)}
        # Names the function in workers' caches; the same in every copy of this object.
        self._token = token or uuid.uuid4().hex
        self._name = getattr(function, "__qualname__", None) or repr(function)
        self._pickled = None
        self._stored = None  # (pid, runtime epoch, ObjectID of the pickled function)
        self._calls = {}  # (keyword names, num_returns) -> pickled call description
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
        merged = {**self._options, **_normalize_options(options)}
        outer = self

        class _WithOptions:
            def remote(self, *args, **kwargs):
                return outer._submit(args, kwargs, merged)

        return _WithOptions()

    def _function_id(self):
        key = (_pid, _raylet.runtime_epoch())
        if self._stored is None or self._stored[:2] != key:
            if self._pickled is None:
                try:
                    self._pickled = cloudpickle.dumps(self._function, protocol=5)
                except Exception as e:
                    raise TypeError(f"ray cannot serialize remote function {self._name}: {e}") from e
            self._stored = key + (_raylet.put([self._pickled], "function", hidden=True),)
        return self._stored[2]

    def _submit(self, args, kwargs, options):
        if not _raylet.is_initialized():
            raise RayError("ray is not initialized: call ray.init() first")
        num_returns = options["num_returns"]
        call_key = (tuple(kwargs), num_returns)
        call = self._calls.get(call_key)
        if call is None:
            call = pickle.dumps((self._token, self._name) + call_key, protocol=5)
            self._calls[call_key] = call
        task_args = [self._function_id(), [call]]
        nested = b""  # the ObjectIDs inside argument values (not waited for, kept alive)
        for values in (args, kwargs.values()):
            for value in values:
                if isinstance(value, ObjectID):
                    task_args.append(value)
                else:
                    parts, _, ids = _serialize(value)
                    task_args.append(parts)
                    nested += ids
        ids = _raylet.submit(task_args, num_returns, float(options["num_cpus"]),
                             int(options["max_retries"]), self._name, nested)
        return ids[0] if num_returns == 1 else ids


def remote(*args, **kwargs):
    """@ray.remote, or @ray.remote(num_returns=3) (also num_return_vals=3, num_cpus=...)."""
    if len(args) == 1 and not kwargs and callable(args[0]):
        return RemoteFunction(args[0], {})
    if args:
        raise TypeError("@ray.remote takes a function, or keyword options only")
    return lambda function: RemoteFunction(function, kwargs)


# ---------------------------------------------------------------------------------------------
# Running tasks (in workers)

_functions = {}  # token -> function, in this worker

_pid = os.getpid()  # this process's, kept current across forks (os.getpid is a system call)


def _after_fork():
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_after_fork)


def _execute_task(buffers):
    """Runs one task; called by ray._raylet in a worker with the task's argument objects:
    [pickled function, call description, *args, *kwargs values]. Returns the pickled results
    [(parts, type name, nested IDs), ...] or, if the task raised, a dict describing the error."""
    token, name, kwarg_names, num_returns = pickle.loads(buffers[1])
    _task_output.begin(name)
    try:
        try:
            function = _functions.get(token)
            if function is None:
                function = pickle.loads(buffers[0])
                _functions[token] = function
            values = [_deserialize(b) for b in buffers[2:]]
            split = len(values) - len(kwarg_names)
            result = function(*values[:split], **dict(zip(kwarg_names, values[split:])))
            if num_returns == 1:
                results = [result]
            else:
                is_sequence = isinstance(result, (tuple, list, types.GeneratorType))
                results = list(result) if is_sequence else None
                if results is None or len(results) != num_returns:
                    raise ValueError(f"the task has num_returns={num_returns} but returned "
                                     f"{type(result).__name__}"
                                     + (f" of length {len(results)}" if results else ""))
            return [_serialize(r) for r in results]
        finally:
            _task_output.end()
    except BaseException as e:  # noqa: BLE001 (the task's exception, reported to the caller;
        # SystemExit and KeyboardInterrupt too: the worker lives on)
        from ray.exceptions import RayTaskError
        if isinstance(e, RayTaskError):  # a failure of a task this one depended on
            return e._info()
        return {
            "function_name": name,
            "exception_type": type_name(type(e)),
            "message": _message_of(e),
            # Without this function's own frame: the traceback starts in the user's function.
            "traceback": "".join(traceback.format_exception(type(e), e, _user_frames(e))),
            "pid": os.getpid(),
        }


def _message_of(e):
    try:
        return str(e)
    except Exception as failure:  # noqa: BLE001 (a broken __str__ must not hide the error)
        return f"<str() of the exception failed: {type(failure).__name__}: {failure}>"


def _user_frames(e):
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code is _execute_task.__code__:
        tb = tb.tb_next
    return tb or e.__traceback__


_raylet.set_task_executor(_execute_task)
