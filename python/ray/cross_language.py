"""Calling C++ functions from Python: ray.cpp_function("name").remote(...).

The C++ side registers functions by name with RAY_REMOTE (ray/api/ray_remote.h) in a shared
library, which ray.init(code_search_path=[...]) loads before the workers start. Arguments cross as
msgpack values (None, bool, int, float, str, bytes, list, tuple, dict, numpy scalars) or as
ObjectIDs of values C++ wrote; ray.get returns the results as Python values. See docs/PYTHON.md.
"""

import os

from ray import _raylet
from ray._worker import _normalize_options, refuse_unplaceable
from ray.exceptions import RayError


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
        if not _raylet.is_initialized():
            raise RayError("ray is not initialized: call ray.init() first")
        ids = _raylet.submit_cpp(self._name, list(args),
                                 num_returns=self._options.get("num_returns", 0),
                                 num_cpus=float(self._options.get("num_cpus", 1.0)),
                                 max_retries=int(self._options.get("max_retries", 3)),
                                 resources=[(k, float(v)) for k, v in
                                            self._options.get("resources", {}).items()])
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
