"""Running tasks in a worker (or in the driver, in local mode): ray._raylet calls _execute_task
with a task's argument objects; an actor's creation makes the instance its process serves, and its
calls run on it (an async actor's on its event loop, ray/_async_actor.py). What a task returns or
raises goes back pickled (ray/remote_function.py and ray/actor.py submit the tasks)."""

import os
import pickle
import traceback
import types

from ray import _pickling, _raylet, _runtime_env, _task_output, _worker
from ray._pickling import deserialize as _deserialize
from ray._pickling import serialize as _serialize
from ray.exceptions import type_name

_tasks_running = 0  # tasks running in this process now (nested ones counted)
_functions = {}  # token -> function, in this worker
_actor = None  # the actor this worker serves (ray/actor.py)
_actor_loop = None  # its event loop, if it is an async actor (ray/_async_actor.py)
_local_actors = {}  # local mode: the session's actors by handle (hex): (instance, loop or None)


def _end_actor():
    """The worker stops serving its actor: this reference goes (its __del__ may run now)."""
    global _actor
    _actor = None

def _execute_task(buffers):
    """Runs one task; called by ray._raylet in a worker (or in the driver, in local mode) with
    the task's argument objects: [pickled function, call description, *args, *kwargs values].
    Returns the pickled results [(parts, type name, nested IDs, value), ...] or, if the task
    raised, a dict describing the error."""
    description = _description(buffers[1])
    token, _, num_returns, name, _, retries = description[:6]
    actor_call = description[6] if len(description) > 6 else None  # ray/actor.py
    _begin_task(name)
    try:
        try:
            args, kwargs = _call_arguments(description, buffers)
            if actor_call is None:
                result = _call(_function(token, buffers[0]), args, kwargs, retries)
            elif actor_call[0] == "create":  # this process's actor: its class made here
                result = _make_actor(_function(token, buffers[0]), args, kwargs, token,
                                     buffers[0])
            else:
                instance, loop = _actor_serving(name, actor_call)
                method = getattr(instance, actor_call[1])
                result = (method(*args, **kwargs) if loop is None
                          else loop.call(method, args, kwargs))
            return _results(result, num_returns)
        finally:
            _end_task()
    except BaseException as e:  # noqa: BLE001 (the task's exception, reported to the caller;
        # SystemExit and KeyboardInterrupt too: the worker lives on)
        return _failure(e, name)


def _function(token, pickled):
    """The function (or actor class) `token` names, unpickled from `pickled` once per process."""
    function = _functions.get(token)
    if function is None:
        function = pickle.loads(pickled)
        _functions[token] = function
    return function


_descriptions = {}  # call descriptions (bytes) -> unpickled: a few per function or method


def _description(buffer):
    """A call description, unpickled once per distinct one (bounded)."""
    key = buffer if type(buffer) is bytes else None  # small: bytes
    description = _descriptions.get(key)
    if description is None:
        description = pickle.loads(buffer)
        if key is not None and len(_descriptions) < 1000:
            _descriptions[key] = description
    return description


def _start_actor_call(call, buffers, loop):
    """An async actor's call (ray/_async_actor.py), on its event loop: starts the method there as
    a task of the loop; what it returns or raises goes to loop.end as _execute_task returns it."""
    description = _description(buffers[1])
    num_returns, name = description[2:4]
    try:
        args, kwargs = _call_arguments(description, buffers)
        method = _actor_method(name, description[6][1])
    except BaseException as e:  # noqa: BLE001 (the call's failure)
        loop.end(call, _failure(e, name))
        return
    loop.start(call, method, args, kwargs, name, num_returns)


def _output_to_driver():
    """Whether a task's output here goes to the driver: from forked workers only (a remote
    worker's goes to its node's workers.log, local mode's is the driver's own)."""
    return _worker._session is None or not (_worker._session.local_mode or _worker._session.remote)


def _begin_task(name):
    """A task starts in this process."""
    global _tasks_running
    if _output_to_driver():
        _task_output.begin(name)
    _tasks_running += 1


def _end_task():
    global _tasks_running
    _tasks_running -= 1
    if _output_to_driver():
        _task_output.end()


def _call_arguments(description, buffers):
    """A call's (args, kwargs) from its description and argument objects, in the working
    directory it runs in (entered here)."""
    _runtime_env.enter(description[4])
    kwarg_names = description[1]
    values = [_deserialize(b) for b in buffers[2:]]
    split = len(values) - len(kwarg_names)
    return values[:split], dict(zip(kwarg_names, values[split:]))


def _make_actor(cls, args, kwargs, token, pickled):
    """An actor's creation: makes its instance, which this process serves from now on (in local
    mode, one of the session's actors); returns the creation's result, its class."""
    global _actor, _actor_loop
    from ray import _async_actor
    from ray.actor import ActorClass

    instance = cls(*args, **kwargs)
    # For ray.get_actor: pickled as the bytes of the class the creation carried.
    result = ActorClass(cls, {}, token, pickled if type(pickled) is bytes else bytes(pickled))
    session = _worker._session
    if session is not None and session.local_mode:  # every actor lives in the driver
        loop = _async_actor.EventLoop() if _async_actor.is_async(cls) else None
        _local_actors[_raylet.running_creation_actor()] = (instance, loop)
        return result
    _actor = instance
    _raylet.set_actor(_end_actor, "python:" + result._name)  # as its creation names it
    if _async_actor.is_async(cls):
        _actor_loop = _async_actor.EventLoop()
    return result


def _actor_serving(name, actor_call):
    """(instance, event loop or None) of the actor a call is for: this process's, or in local
    mode the one its call names."""
    if len(actor_call) > 2:  # local mode: ("call", method, actor's hex)
        found = _local_actors.get(actor_call[2])
        if found is None:
            raise RuntimeError(f"{name}: no actor {actor_call[2]} in this session")
        return found
    if _actor is None:
        raise RuntimeError(f"{name}: this process serves no actor")
    return _actor, _actor_loop


def _actor_method(name, method_name):
    return getattr(_actor_serving(name, ("call", method_name))[0], method_name)


def _results(result, num_returns):
    """A task's result pickled, as its returns: [(parts, type name, nested IDs, value), ...]. The
    value itself comes along: the ObjectRefs in it must live until the worker has its own
    reference to them (ReturnWriter::SetNestedRefs), or one dropped first could free its object
    before the result that names it reaches the scheduler."""
    if num_returns == 1:
        results = [result]
    else:
        is_sequence = isinstance(result, (tuple, list, types.GeneratorType))
        results = list(result) if is_sequence else None
        if results is None or len(results) != num_returns:
            raise ValueError(f"the task has num_returns={num_returns} but returned "
                             f"{type(result).__name__}"
                             + (f" of length {len(results)}" if results else ""))
    return [_serialize(r) + (r,) for r in results]


def _failure(e, name):
    """The dict that describes the task's exception `e` to the caller."""
    from ray.actor import _ActorExit

    if isinstance(e, _ActorExit):
        return {"function_name": name, "exception_type": _raylet.ACTOR_DIED_ERROR_TYPE,
                "message": "it exited (ray.actor.exit_actor)", "pid": os.getpid()}
    return {
        "function_name": name,
        "exception_type": type_name(type(e)),
        "message": _message_of(e),
        "traceback": _remote_traceback(e),
        "pid": os.getpid(),
        "node": _worker._node_ip(),
        "exception_pickle": _pickled_exception(e),
    }


def _call(function, args, kwargs, retries):
    """function(*args, **kwargs), run again (at most max_retries times) while it raises an
    exception that retry_exceptions names (True: any Exception)."""
    max_retries, retry_exceptions = retries
    attempt = 0
    while True:
        try:
            return function(*args, **kwargs)
        except Exception as e:
            retry = retry_exceptions is True or (
                isinstance(retry_exceptions, tuple) and isinstance(e, retry_exceptions))
            if not retry or (max_retries >= 0 and attempt >= max_retries):
                raise
            attempt += 1


def _remote_traceback(e):
    """The traceback of a task's exception, from the user's function on (as Ray shows it)."""
    lines = traceback.format_exception(type(e), e, _user_frames(e))
    if lines and lines[0].startswith("Traceback (most recent call last)"):
        lines = lines[1:]
    return "".join(lines)


# Larger pickled exceptions (say, one that holds a big array) are not sent: error objects travel
# inline, in messages.
_MAX_EXCEPTION_PICKLE = 1 << 20


def _pickled_exception(e):
    """The exception pickled, if it can be, and unpickled again (checked here, where its
    class is sure to exist); else b"" (the driver gets its text only)."""
    try:
        data = _pickling.dumps(e)
        if len(data) > _MAX_EXCEPTION_PICKLE:
            return b""
        pickle.loads(data)
        return data
    except Exception:  # noqa: BLE001 (any failure: the error's text still goes back)
        return b""


def _message_of(e):
    try:
        return str(e)
    except Exception as failure:  # noqa: BLE001 (a broken __str__ must not hide the error)
        return f"<str() of the exception failed: {type(failure).__name__}: {failure}>"


def _user_frames(e):
    """The traceback from the user's function on: without the frames that call it."""
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code in (_execute_task.__code__, _call.__code__):
        tb = tb.tb_next
    return tb or e.__traceback__

