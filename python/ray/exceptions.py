"""Exceptions of the ray package (the names Ray users know)."""

import builtins
import importlib
import sys


class RayError(Exception):
    """Base of every error ray raises."""


class GetTimeoutError(RayError, TimeoutError):
    """ray.get with a timeout: not every object existed in time."""


class WorkerCrashedError(RayError):
    """The worker running a task died (after its retries)."""


class ObjectStoreFullError(RayError):
    """The object store has no room for a new object."""


class RayTaskError(RayError):
    """A task raised (or a task it depended on did).

    ``ray.get`` raises an instance of a class derived from both RayTaskError and the
    exception type the task raised (when that type can be found in this process), so
    ``except ValueError`` and ``except ray.exceptions.RayTaskError`` both catch it.
    """

    def __init__(self, function_name, exception_type, message, traceback_str="", pid=0,
                 task_id="", node=""):
        # Not super().__init__: with a derived cause class the next __init__ in the MRO could
        # be the user's exception's, which takes other arguments.
        BaseException.__init__(self, message)
        self.function_name = function_name
        self.exception_type = exception_type
        self.message = message
        self.traceback_str = traceback_str
        self.pid = pid
        self.task_id = task_id
        self.node = node

    def __str__(self):
        where = f"pid={self.pid}" + (f", task={self.task_id}" if self.task_id else "")
        text = self.traceback_str.rstrip() or f"{self.exception_type}: {self.message}"
        return f"{self.exception_type} in ray task {self.function_name}() ({where}):\n{text}"

    def __reduce__(self):
        return (_rebuild_task_error, (self._info(),))

    def _info(self):
        return {
            "function_name": self.function_name,
            "exception_type": self.exception_type,
            "message": self.message,
            "traceback": self.traceback_str,
            "pid": self.pid,
            "task_id": self.task_id,
            "node": self.node,
        }

    @property
    def cause_type(self):
        return _find_type(self.exception_type)

    def as_instanceof_cause(self):
        """This error as an instance of both RayTaskError and the task's exception type."""
        cause = _find_type(self.exception_type)
        if (cause is None or not isinstance(cause, type) or not issubclass(cause, Exception)
                or issubclass(cause, RayTaskError) or cause in (Exception, RayError)):
            return self
        try:
            cls = _derived_classes.get(cause)
            if cls is None:
                cls = type(f"RayTaskError({cause.__name__})", (RayTaskError, cause), {
                    "__init__": RayTaskError.__init__,
                    "__str__": RayTaskError.__str__,
                    "__reduce__": RayTaskError.__reduce__,
                    "__module__": __name__,
                })
                _derived_classes[cause] = cls
            error = cls.__new__(cls)
            RayTaskError.__init__(error, **_init_args(self._info()))
            return error
        except Exception:  # a type that cannot be a base (layout conflict, odd __new__)
            return self


_derived_classes = {}


def _init_args(info):
    return dict(function_name=info.get("function_name", ""),
                exception_type=info.get("exception_type", ""),
                message=info.get("message", ""),
                traceback_str=info.get("traceback", ""),
                pid=info.get("pid", 0),
                task_id=info.get("task_id", ""),
                node=info.get("node", ""))


def _rebuild_task_error(info):
    return _from_error_info(info)


# The C++ runtime's exceptions that have a Python counterpart.
_CPP_ERRORS = {
    "ray::ObjectStoreFullError": "ObjectStoreFullError",
    "ray::GetTimeoutError": "GetTimeoutError",
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


def _from_error_info(info):
    """The exception that an error object stands for."""
    from ray import _raylet

    if info.get("exception_type") == _raylet.WORKER_CRASHED_ERROR_TYPE:
        return WorkerCrashedError(
            f"the worker running {info.get('function_name')} died: {info.get('message')}")
    if not info.get("task_id", "").strip("0"):  # the runtime's own error (e.g. a freed object)
        return RayError(info.get("message", ""))
    return RayTaskError(**_init_args(info)).as_instanceof_cause()
