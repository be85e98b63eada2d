"""ray: a distributed task system (libray's Python package).

    import ray
    ray.init(num_workers=4)

    @ray.remote
    def add(a, b):
        return a + b

    ray.get(add.remote(1, 2))   # 3

The runtime is libray's C++ core (the extension module ray._raylet): the scheduler runs as
threads in this process, tasks run in worker processes forked from it.
"""

from ray import exceptions
from ray._graph import timeline, visualize_computation_graph
from ray._raylet import ObjectID
from ray._version import __version__  # libray's VERSION, written by //python:pkg
from ray.actor import get_actor, kill, method
from ray._worker import (
    available_resources,
    cluster_resources,
    nodes,
    get,
    get_gpu_ids,
    get_runtime_context,
    init,
    is_initialized,
    put,
    shutdown,
    wait,
)
from ray.cross_language import cpp_actor_class, cpp_function
from ray.remote_function import remote

ObjectRef = ObjectID

__all__ = [
    "ObjectID",
    "ObjectRef",
    "available_resources",
    "cluster_resources",
    "nodes",
    "cpp_actor_class",
    "cpp_function",
    "exceptions",
    "get",
    "get_actor",
    "get_gpu_ids",
    "get_runtime_context",
    "init",
    "is_initialized",
    "kill",
    "method",
    "put",
    "remote",
    "shutdown",
    "timeline",
    "visualize_computation_graph",
    "wait",
]
