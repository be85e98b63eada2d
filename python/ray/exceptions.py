"""Exceptions of the ray package (the names Ray users know)."""

import builtins
import importlib
import pickle
import sys


class RayError(Exception):
    """Base of every error ray raises."""


class GetTimeoutError(RayError, TimeoutError):
    """ray.get with a timeout: not every object existed in time."""


class WorkerCrashedError(RayError):
    """The worker running a task died (after its retries)."""


class ObjectStoreFullError(RayError):
    """The object store has no room for a new object."""


class ObjectLostError(RayError):
    """An object that was made is no longer in the node's store."""


class RayActorError(RayError):
    """An actor's call could not run: its actor is gone."""


class ActorDiedError(RayActorError):
    """The actor is dead (killed, its process died past max_restarts, its constructor
    failed, it exited), or died while running the call past max_task_retries."""


# Begins the error of a task that did not run because a task it depended on failed.
INPUT_FAILED = "At least one of the input arguments for this task could not be computed:"


class RayTaskError(RayError):
    """A task raised (or a task it depended on did).

    ``ray.get`` raises an instance of a class derived from both RayTaskError and the class of
    the exception the task raised, with that exception's attributes and args (``cause`` is the
    exception itself), so ``except ValueError`` and ``except ray.exceptions.RayTaskError`` both
    catch it. Its text is the task's name, process and node, then the remote traceback. When
    the task's exception could not be pickled, the class is found by name if this process has
    it, else the error is a plain RayTaskError; its text is kept either way.
    """

    def __init__(self, function_name, traceback_str="", cause=None, pid=0, ip="", task_id="",
                 exception_type="", message=""):
        # Not super().__init__: with a derived cause class the next __init__ in the MRO could
        # be the user's exception's, which takes other arguments.
        BaseException.__init__(self, message)
        self.function_name = function_name
        self.traceback_str = traceback_str
        self.cause = cause
        self.pid = pid
        self.ip = ip
        self.task_id = task_id
        self.exception_type = exception_type
        self.message = message

    def __str__(self):
        where = f" (pid={self.pid}, ip={self.ip})" if self.pid else ""
        text = self.traceback_str.rstrip("\n") or f"{self.exception_type}: {self.message}"
        return f"ray::{self.function_name}(){where}\n{text}"

    def __reduce__(self):
        return (_rebuild_task_error, (self._fields(),))

    def _fields(self):
        return {name: getattr(self, name, default) for name, default in _FIELDS.items()}

    def _root_class(self):
        """The class of the exception at the end of the chain of causes."""
        if isinstance(self.cause, RayTaskError):
            return self.cause._root_class()
        if self.cause is not None:
            return type(self.cause)
        return _find_type(self.exception_type)

    def _cause_attributes(self):
        """The attributes of the exception at the end of the chain of causes."""
        if isinstance(self.cause, RayTaskError):
            return self.cause._cause_attributes()
        return _attributes(self.cause) if self.cause is not None else {}

    def as_instanceof_cause(self):
        """This error as an instance of both RayTaskError and the task's exception class."""
        cause = self._root_class()
        if (not isinstance(cause, type) or not issubclass(cause, Exception)
                or issubclass(cause, RayTaskError) or cause in (Exception, RayError)):
            return self
        try:
            cls = _derived_classes.get(cause)
            if cls is None:
                name = f"RayTaskError({cause.__name__})"
                cls = type(name, (RayTaskError, cause), {
                    "__init__": RayTaskError.__init__,
                    "__str__": RayTaskError.__str__,
                    "__reduce__": RayTaskError.__reduce__,
                    "__module__": __name__,
                    "__qualname__": name,
                })
                _derived_classes[cause] = cls
            error = cls.__new__(cls)
        except Exception:  # a class that cannot be a base (layout conflict, odd __new__)
            return self
        RayTaskError.__init__(error, **self._fields())
        for name, value in self._cause_attributes().items():
            try:
                setattr(error, name, value)
            except Exception:  # a read-only attribute: the cause still has it
                pass
        return error


_FIELDS = {"function_name": "", "traceback_str": "", "cause": None, "pid": 0, "ip": "",
           "task_id": "", "exception_type": "", "message": ""}
_derived_classes = {}

# Attributes every exception has, which are not the task's to copy.
_EXCEPTION_INTERNALS = frozenset(["__dict__", "__traceback__", "__context__", "__cause__",
                                  "__suppress_context__", "__weakref__", "__notes__"])


def _attributes(exception):
    """An exception's own attributes: args, its __dict__, and the fields of built-in exception
    classes (OSError's errno, KeyError's args, SyntaxError's lineno, ...)."""
    attributes = {"args": exception.args}
    for cls in reversed(type(exception).__mro__):
        if cls.__module__ != "builtins" or not issubclass(cls, BaseException):
            continue
        for name, member in vars(cls).items():
            if (name not in _EXCEPTION_INTERNALS and name not in attributes
                    and type(member).__name__ in ("member_descriptor", "getset_descriptor")):
                try:
                    attributes[name] = getattr(exception, name)
                except AttributeError:
                    pass
    attributes.update(getattr(exception, "__dict__", {}))
    return attributes


def _rebuild_task_error(fields):
    return RayTaskError(**fields).as_instanceof_cause()


def _display(error):
    """The last line of a traceback of `error`: "module.Class: text"."""
    cls = type(error)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    return f"{name}: {error}"


# The C++ runtime's exceptions that have a Python counterpart.
_CPP_ERRORS = {
    "ray::ObjectStoreFullError": "ObjectStoreFullError",
    "ray::GetTimeoutError": "GetTimeoutError",
    "ray::ObjectLostError": "ObjectLostError",
}


def _find_type(name):
    """The class named like type_name() names it, if this process has it."""
    if not name:
        return None
    if name in _CPP_ERRORS:
        return globals()[_CPP_ERRORS[name]]
    if "." not in name:
        return getattr(builtins, name, None)
    module_name, _, qualname = name.rpartition(".")
    # The longest importable module prefix: "pkg.mod.Outer.Inner".
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:i])
        module = sys.modules.get(module_name)
        if module is None:
            try:
                module = importlib.import_module(module_name)
            except Exception:
                continue
        obj = module
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def type_name(cls):
    """How an exception type is named in error objects: "ValueError", "mymod.MyError"."""
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _from_error_info(info, ref=None):
    """The exception that an error object stands for; `ref` is the ObjectID read (if any). An
    error object of another task than ref's says that ref's task did not run because a task it
    depended on failed."""
    from ray import _raylet

    if info.get("exception_type") == _raylet.WORKER_CRASHED_ERROR_TYPE:
        return WorkerCrashedError(
            f"the worker running {info.get('function_name')} died: {info.get('message')}")
    if info.get("exception_type") == _raylet.ACTOR_DIED_ERROR_TYPE:
        return ActorDiedError(f"{info.get('function_name')}: {info.get('message')}")
    if not info.get("task_id", "").strip("0"):  # the runtime's own error (e.g. a freed object)
        cls = globals().get(_CPP_ERRORS.get(info.get("exception_type")), RayError)
        return cls(info.get("message", ""))
    cause = None
    if info.get("exception_pickle"):
        try:
            cause = pickle.loads(info["exception_pickle"])
        except Exception:  # a class this process cannot load: the text is kept
            cause = None
    error = RayTaskError(function_name=info.get("function_name", ""),
                         traceback_str=info.get("traceback", ""), cause=cause,
                         pid=info.get("pid", 0), ip=info.get("node", ""),
                         task_id=info.get("task_id", ""),
                         exception_type=info.get("exception_type", ""),
                         message=info.get("message", "")).as_instanceof_cause()
    task = ref.hex()[:2 * 20] if ref is not None else ""  # an ObjectID starts with its task's
    if task and task != info["task_id"]:
        name = ref.task_name() or f"<task {task}>"
        error = RayTaskError(function_name=name,
                             traceback_str=f"  {INPUT_FAILED}\n{_display(error)}", cause=error,
                             task_id=task, exception_type=info.get("exception_type", ""),
                             message=info.get("message", "")).as_instanceof_cause()
    return error
