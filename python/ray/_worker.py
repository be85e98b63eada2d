"""The ray API over the extension module ray._raylet (see ray/python_embed/python_extension.cc)."""

import atexit
import functools
import json
import os
import secrets
import socket
import sys
import uuid
import warnings

from ray import _raylet, _runtime_env, _task_output
from ray._pickling import deserialize as _deserialize
from ray._pickling import serialize as _serialize
from ray._runtime_context import RayContext, RuntimeContext
from ray.exceptions import RayError

ObjectID = _raylet.ObjectID

# ---------------------------------------------------------------------------------------------
# init / shutdown


class _Session:
    """What ray.init set up beyond the runtime; workers inherit it (they are forks), and workers
    on other nodes of a cluster get what they need of it from their command line
    (_serve_remote_worker)."""

    def __init__(self, namespace, local_mode, resources):
        self.driver_pid = os.getpid()
        self.job_id = secrets.token_hex(4)
        self.namespace = namespace or f"anonymous-{uuid.uuid4()}"
        self.local_mode = local_mode
        self.resources = resources  # num_gpus and custom resources, as declared
        self.working_dir = None  # the snapshot workers run tasks in
        self.output = None  # the driver's DriverOutput, if task output goes to the driver
        self.address = ""  # the cluster joined ("HOST:PORT" or "auto"), if any
        self.remote = False  # this process is a worker a node of the cluster started

    @property
    def node_id(self):
        return _raylet.node_id()  # set at init, before the workers are forked


_session = None


def init(address=None, *, num_cpus=None, num_gpus=None, resources=None,
         object_store_memory=None, local_mode=False, ignore_reinit_error=False,
         include_dashboard=None, dashboard_host="127.0.0.1", dashboard_port=None,
         log_to_driver=True, namespace=None, runtime_env=None, start_ray_local=True,
         num_workers=None, code_search_path=None, _max_workers=None, _record_task_graph=True,
         _max_recorded_tasks=None, _temp_dir=None, _idle_worker_timeout=None,
         _worker_stall_timeout=None, _worker_command_line_title=True, **unsupported):
    """Starts ray on this machine: an object store and worker processes forked from this one.

    ray.init(num_cpus=4) as Ray, or ray.init(start_ray_local=True, num_workers=10) as the 2016
    tutorial. num_workers defaults to num_cpus (rounded up), or to the number of cores; num_cpus
    defaults to num_workers. local_mode=True runs every task at once in this process.
    log_to_driver=False keeps what tasks print out of this process's output. runtime_env:
    {"env_vars": {...}, "working_dir": path} for the workers. num_gpus and resources are
    declared (ray.cluster_resources shows them); tasks may ask for the custom resources
    (.options(resources=...)), not for GPUs. The dashboard arguments are accepted; there is no
    dashboard yet. code_search_path: C++ shared libraries
    (or folders of them) whose RAY_REMOTE functions ray.cpp_function calls. _max_workers:
    worker processes at most, blocked ones included (default 256; past it, a worker blocked in
    ray.get runs ready tasks inside its wait). _record_task_graph=False: no computation graph
    (ray.visualize_computation_graph and ray.timeline then raise RayError); _max_recorded_tasks:
    the tasks (and as many puts) the graph keeps, some 100 bytes each (default 250,000; later
    ones are counted, and the graph and the timeline say how many). _temp_dir: the folder the
    session folder goes in (default $TMPDIR or /tmp). _idle_worker_timeout: seconds after which
    workers started beyond num_workers exit when idle (default 10). _worker_stall_timeout:
    seconds after which a worker that holds tasks and sends nothing is killed and its tasks
    retried (default 30, at least 2). _worker_command_line_title=False: workers keep this
    process's command line instead of `ray::worker`. address: "HOST:PORT" of a cluster's head
    or "auto" (the latest started on this machine; default: RAY_ADDRESS, else none): this
    node joins it (ray.nodes() lists it) and tasks run on every node of it, each of which starts
    this interpreter with this process's sys.path as workers (docs/CLUSTER.md). Each maps to a
    field of ray::InitOptions
    (docs/API.md). Returns a RayContext (also
    a context manager that shuts ray down), or None if ray was initialized already and
    ignore_reinit_error is set.
    """
    global _session
    if unsupported:
        raise TypeError(f"ray.init: unknown arguments: {', '.join(sorted(unsupported))}")
    if address is not None and not isinstance(address, str):
        raise TypeError(f"ray.init: address must be a str, got {type(address).__name__}")
    if not start_ray_local and not address:
        raise NotImplementedError("ray.init: start_ray_local=False: give a cluster's address")
    if _raylet.is_initialized():
        if ignore_reinit_error or not _raylet.is_driver():
            return None
        raise RuntimeError("ray.init: ray is already initialized (call ray.shutdown() first)")
    env = _runtime_env.validate(runtime_env)
    declared = _declared_resources(num_gpus, resources)
    if namespace is not None and not isinstance(namespace, str):
        raise TypeError(f"ray.init: namespace must be a str, got {type(namespace).__name__}")
    if include_dashboard:
        warnings.warn("ray.init: include_dashboard=True: libray has no dashboard yet",
                      stacklevel=2)
    if local_mode and (env["env_vars"] or env["working_dir"]):
        raise ValueError("ray.init: runtime_env with local_mode=True: tasks run in the driver, "
                         "whose environment and folder ray does not change")
    if _max_recorded_tasks is not None and (isinstance(_max_recorded_tasks, bool) or not
                                            isinstance(_max_recorded_tasks, int)
                                            or _max_recorded_tasks < 1):
        raise ValueError("ray.init: _max_recorded_tasks must be an int >= 1, "
                         f"got {_max_recorded_tasks!r}")
    num_workers = _check_node_options(num_workers, num_cpus)
    _check_types(_max_workers=(_max_workers, int), _temp_dir=(_temp_dir, (str, os.PathLike)),
                 _idle_worker_timeout=(_idle_worker_timeout, (int, float)),
                 _worker_stall_timeout=(_worker_stall_timeout, (int, float)))
    # Every option of the session (ray/core_worker/session_options.h); None: its default.
    options = dict(num_workers=int(num_workers), num_cpus=float(num_cpus or 0),
                   object_store_memory=int(object_store_memory or 0),
                   local_mode=bool(local_mode),
                   session_dir_root=os.fspath(_temp_dir) if _temp_dir is not None else "",
                   record_task_graph=bool(_record_task_graph),
                   max_recorded_tasks=_max_recorded_tasks or 0,
                   max_workers=_as_c_int(_max_workers or 0),
                   worker_command_line_title=bool(_worker_command_line_title),
                   address=address if address not in (None, "local") else "",
                   resources={name: float(amount) for name, amount in declared.items()
                              if name != "GPU"})
    if _idle_worker_timeout is not None:
        options["idle_worker_timeout"] = float(_idle_worker_timeout)
    if _worker_stall_timeout is not None:
        options["worker_stall_timeout"] = float(_worker_stall_timeout)
    session = _Session(namespace, local_mode, declared)
    if not local_mode:
        if code_search_path:  # before the workers start, and before the program ships
            from ray.cross_language import load_code_search_path
            load_code_search_path(code_search_path)
        # Used only in a cluster (address, or RAY_ADDRESS read by the extension).
        options["remote_worker_argv"], options["remote_worker_env"] = _remote_worker_command(
            session, env["env_vars"])
    session.address = options["address"] or os.environ.get("RAY_ADDRESS", "")
    _node_ip()  # before the workers are forked: they have it at once
    if local_mode:
        _raylet.init(**options)
        _session = session
    else:
        _start_node(session, env, log_to_driver, **options)
    _register_atexit()
    return RayContext(_raylet.session_dir() or None, session.node_id)


def _check_node_options(num_workers, num_cpus):
    """The number of workers to start (num_workers, else num_cpus rounded up, else 0: one per
    core). TypeError or ValueError for values of the wrong type or past the limits that
    ray::Init checks too (ray/core_worker/limits.h, the same message)."""
    for name, value, types in (("num_workers", num_workers, int),
                               ("num_cpus", num_cpus, (int, float))):
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            kind = "an int" if types is int else "a number"
            raise TypeError(f"ray.init: {name} must be {kind}, got {type(value).__name__}")
    message = _raylet.check_node_options(0, float(num_cpus or 0))
    if message:
        raise ValueError(f"ray.init: {message}")
    derived = num_workers is None
    if derived:
        num_workers = int(-(-num_cpus // 1)) if num_cpus else 0
    message = _raylet.check_node_options(_as_c_int(num_workers), float(num_cpus or 0))
    if message:
        message = _with_value(message, {"num_workers": num_workers})
        if derived:
            message += " (num_workers defaults to num_cpus rounded up: give num_workers too)"
        raise ValueError(f"ray.init: {message}")
    return num_workers


def _check_types(**values):
    """TypeError for an argument given (not None) with a type other than its own."""
    for name, (value, types) in values.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            raise TypeError(f"ray.init: {name} has the wrong type: {type(value).__name__}")


def _start_node(session, env, log_to_driver, **options):
    """Starts the node (_raylet.init) for `session` and what goes with it; on failure, stops
    what was started."""
    global _session
    # Workers are forks of this process: what sits in these buffers now would be printed by
    # every worker that flushes them.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    if log_to_driver:
        from ray._driver_output import DriverOutput
        session.output = DriverOutput()
        _task_output.sink_fd = session.output.write_fd
        _task_output.sink_count = session.output.written
    else:
        _task_output.sink_fd = -1
        _task_output.sink_count = None
    _session = session  # before the fork: the workers' copy of the session
    try:
        with _runtime_env.environment(env["env_vars"]):
            _raylet.init(**options)
        if env["working_dir"]:
            session.working_dir = _runtime_env.snapshot(env["working_dir"],
                                                        _raylet.session_dir())
    except BaseException:
        _session = None
        _raylet.shutdown()
        if session.output is not None:
            session.output.stop()
        raise
    if session.output is not None:
        session.output.start()


def _remote_worker_command(session, env_vars):
    """(argv, environment) with which the other nodes of a cluster start this driver's workers.

    The node runs its cached copy of this process's executable (the interpreter, shipped by
    content) with argv[0] as this process runs it (sys.executable): the interpreter finds its
    prefix, standard library and any venv (pyvenv.cfg) from argv[0], not from the copy's path.
    The worker module (ray/_remote_worker.py) reads the session's settings from its last
    argument, among them the C++ libraries of code_search_path (loaded before this). PYTHONPATH
    is this process's sys.path (absolute), so that the same `ray` and the user's modules import
    there; env_vars as runtime_env gives them (names starting RAY_ are the node's own and are not
    passed)."""
    executable = sys.executable or os.path.realpath("/proc/self/exe")
    settings = {"job_id": session.job_id, "namespace": session.namespace, "cwd": os.getcwd(),
                "cpp_libraries": [path for path, _ in _raylet.cpp_libraries()]}
    argv = [executable, "-u", "-c", "import ray._remote_worker", json.dumps(settings)]
    path = [os.path.abspath(entry) for entry in sys.path if os.pathsep not in entry]
    env = ["PYTHONPATH=" + os.pathsep.join(dict.fromkeys(path))]
    env += [f"{name}={value}" for name, value in env_vars.items()]
    return argv, env


def _serve_remote_worker(settings):
    """Makes this process a worker of a driver on another node (python/ray/_remote_worker.py):
    what a forked worker inherits from its driver (the session's IDs, the working directory if
    this node has it, the C++ libraries of code_search_path as shipped) is set up from `settings`,
    then the runtime serves the driver's scheduler until it goes, and the process exits (no
    return)."""
    global _session
    session = _Session(settings.get("namespace"), False, {})
    session.job_id = settings.get("job_id", session.job_id)
    session.driver_pid = -1
    session.remote = True
    _enter_drivers_setting(settings)
    _session = session
    _raylet.run_remote_worker()


def _serve_actor_host(settings):
    """Makes this process its program's actor host (ray/core_worker/actor_host.h), which the
    head's node started with a remote worker's command line (python/ray/_remote_worker.py) and
    RAY_ACTOR_HOST_HEAD: set up as that worker would be, it starts a session of its own, which
    joins the cluster as a driver whose node offers no CPUs and serves as the host until the head
    is gone; then the process exits (no return)."""
    _enter_drivers_setting(settings)
    init(log_to_driver=False)
    raise RayError("ray.init returned in an actor host")  # it exits instead


def _enter_drivers_setting(settings):
    """What a process a node started for a driver of this program takes of the driver's setting:
    its working directory if this node has that folder, its C++ libraries of code_search_path
    as shipped."""
    cwd = settings.get("cwd")
    if cwd and os.path.isdir(cwd):
        os.chdir(cwd)
    if settings.get("cpp_libraries"):
        from ray.cross_language import load_code_search_path
        load_code_search_path(_shipped_copies(settings["cpp_libraries"]))


def _shipped_copies(paths):
    """The files on this node of the C++ libraries the driver loaded from `paths`: the copies
    shipped with the driver's program (its lib/ folder, which the node puts on LD_LIBRARY_PATH;
    named by file name, the first of a name only), else the path itself (system libraries do not
    ship: the nodes have the same ones)."""
    folders = [f for f in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if f]
    copies, names = [], set()
    for path in paths:
        name = os.path.basename(path)
        shipped = [os.path.join(f, name) for f in folders if os.path.isfile(os.path.join(f, name))]
        copies.append(shipped[0] if shipped and name not in names else path)
        names.add(name)
    return copies


def _declared_resources(num_gpus, resources):
    declared = {}
    if num_gpus:
        if not isinstance(num_gpus, (int, float)) or num_gpus < 0:
            raise ValueError(f"ray.init: num_gpus must be a number >= 0, got {num_gpus!r}")
        declared["GPU"] = float(num_gpus)
    for name, amount in (resources or {}).items():
        if name in ("CPU", "GPU", "memory", "object_store_memory"):
            raise ValueError(f"ray.init: resources[{name!r}]: give it as its own argument")
        if not isinstance(amount, (int, float)) or amount < 0:
            raise ValueError(f"ray.init: resources[{name!r}] must be a number >= 0")
        declared[name] = float(amount)
    return declared


_exiting = False  # the interpreter is exiting: nothing starts ray again


def _shutdown_at_exit():
    global _exiting
    _exiting = True
    shutdown()


@functools.lru_cache(maxsize=None)
def _register_atexit():
    atexit.register(_shutdown_at_exit)


def shutdown():
    """Stops what ray.init started (also happens at exit): what tasks printed is all printed
    when it returns. A no-op in a worker."""
    global _session
    if not _raylet.is_driver():
        return
    _raylet.shutdown()
    _executor._local_actors.clear()
    session, _session = _session, None
    if session is not None and session.output is not None:
        session.output.stop()


def is_initialized():
    return _raylet.is_initialized()


def get_gpu_ids():
    """The GPUs this task or driver may use: none (libray does not place tasks on GPUs yet)."""
    return []


def get_runtime_context():
    if _session is None or not _raylet.is_initialized():
        raise RayError("ray.get_runtime_context: ray is not initialized: call ray.init() first")
    return RuntimeContext(_session.job_id, _session.node_id, _session.namespace,
                          lambda: _executor._tasks_running > 0)


def cluster_resources():
    """The resources of the cluster's nodes alive, summed by Ray's names ("CPU",
    "object_store_memory", custom ones, "node:<address>"); without a cluster, this node's."""
    return _resources(available=False, api="ray.cluster_resources")


def nodes():
    """The cluster's nodes (dead ones too), as dicts with Ray's keys: NodeID, Alive,
    NodeManagerAddress, Resources, ...; without a cluster, this node alone."""
    if not _raylet.is_initialized():
        raise RayError("ray.nodes: ray is not initialized: call ray.init() first")
    return _raylet.nodes()


def available_resources():
    """What is free now: CPUs and custom resources no running task holds, bytes the stores have
    left (in a cluster, as of the last heartbeats: about a second)."""
    return _resources(available=True, api="ray.available_resources")


def _resources(available, api):
    if not _raylet.is_initialized():
        raise RayError(f"{api}: ray is not initialized: call ray.init() first")
    if not _raylet.is_driver():
        raise RayError(f"{api}: only the driver can tell (this is a worker)")
    if _session is not None and _session.address and not _session.local_mode:
        resources = _raylet.cluster_resources(available)
        if "GPU" in _session.resources:  # declared only (ray/cluster counts no GPUs)
            resources["GPU"] = resources.get("GPU", 0) + _session.resources["GPU"]
        return resources
    resources = _raylet.resources(available)
    if _session is not None:
        resources.update(_session.resources)
    return resources


_INT_RANGE = (-2**31, 2**31 - 1)  # what the checks take (a C int)


def _as_c_int(value):
    """value, or the nearest C int (what the checks take) if it lies beyond them."""
    return min(max(value, _INT_RANGE[0]), _INT_RANGE[1])


def _with_value(message, given):
    """A check's message ("name = value: ...") with the value given instead of its C int."""
    name, _, rest = message.partition(" = ")
    if name in given and _as_c_int(given[name]) != given[name]:
        message = f"{name} = {given[name]}:{rest.partition(':')[2]}"
    return message



# ---------------------------------------------------------------------------------------------
# Objects


def _auto_init():
    """As Ray (1.5 and later): the first put, get, wait or .remote() starts ray with the
    default arguments if ray.init was not called, unless RAY_ENABLE_AUTO_CONNECT=0."""
    if not _raylet.is_initialized():
        if _exiting:  # e.g. a daemon thread still calling ray at exit
            raise RayError("ray was shut down (the program is exiting)")
        if os.environ.get("RAY_ENABLE_AUTO_CONNECT", "") == "0":
            raise RayError("ray is not initialized: call ray.init() first "
                           "(RAY_ENABLE_AUTO_CONNECT=0)")
        init()


def put(value):
    """Stores value in the object store; returns its ObjectID."""
    if isinstance(value, ObjectID):
        raise TypeError("ray.put of an ObjectID is not supported; put the value instead")
    _auto_init()
    parts, name, nested = _serialize(value)
    return _raylet.put(parts, name, nested=nested)


def _check_timeout(timeout, api):
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"{api}: timeout must be a number of seconds or None, "
                            f"got {type(timeout).__name__}")
        if timeout < 0:
            raise ValueError(f"{api}: timeout must be >= 0, got {timeout}")


def _after_blocking():
    """In the driver: what tasks printed so far is printed now (ray/_driver_output.py)."""
    session = _session
    if session is not None and session.output is not None and session.driver_pid == _pid:
        session.output.drain()


def get(object_refs, timeout=None):
    """The value of an ObjectID, or the list of values of a list of ObjectIDs.

    Blocks until they exist (at most timeout seconds: ray.exceptions.GetTimeoutError). A task
    that raised re-raises here as ray.exceptions.RayTaskError (also an instance of the task's
    exception class).
    """
    single = isinstance(object_refs, ObjectID)
    if not single and not isinstance(object_refs, (list, tuple)):
        raise TypeError("ray.get: 'object_refs' must be an ObjectRef or a list of ObjectRefs, "
                        f"got {type(object_refs).__name__}")
    ids = [object_refs] if single else list(object_refs)
    for i in ids:
        if not isinstance(i, ObjectID):
            raise TypeError("ray.get: 'object_refs' must be an ObjectRef or a list of "
                            f"ObjectRefs, got a list containing {type(i).__name__}")
    _check_timeout(timeout, "ray.get")
    if not ids:
        return []
    _auto_init()
    if _executor._actor_loop is not None:
        _executor._actor_loop.note_blocking("ray.get")
    try:
        buffers = _raylet.get(ids, timeout)
    finally:
        _after_blocking()
    values = [_deserialize(b, ref) for b, ref in zip(buffers, ids)]
    return values[0] if single else values


def wait(object_refs, num_returns=1, timeout=None, fetch_local=True):
    """(ready, not_ready): waits until num_returns of object_refs exist or timeout seconds pass.
    fetch_local is accepted for Ray's sake: every object is local on one node."""
    if not isinstance(object_refs, (list, tuple)):
        raise TypeError("ray.wait expected a list of ObjectRefs, got "
                        f"{type(object_refs).__name__}")
    ids = list(object_refs)
    for i in ids:
        if not isinstance(i, ObjectID):
            raise TypeError("ray.wait expected a list of ObjectRefs, got a list containing "
                            f"{type(i).__name__}")
    if len(set(ids)) != len(ids):
        raise ValueError("ray.wait: the list of ObjectRefs has duplicates")
    _check_timeout(timeout, "ray.wait")
    if not ids:
        return [], []
    if isinstance(num_returns, bool) or not isinstance(num_returns, int):
        raise TypeError(f"ray.wait: num_returns must be an int, got {type(num_returns).__name__}")
    if num_returns < 1 or num_returns > len(ids):
        raise ValueError(f"ray.wait: num_returns={num_returns} with {len(ids)} ObjectRefs "
                         "(it must be at least 1 and at most their number)")
    _auto_init()
    try:
        ready, not_ready = _raylet.wait(ids, num_returns, timeout)
    finally:
        _after_blocking()
    return [ids[i] for i in ready], [ids[i] for i in not_ready]


# ---------------------------------------------------------------------------------------------
# This process (remote functions: ray/remote_function.py; running tasks: ray/_executor.py)

_pid = os.getpid()  # this process's, kept current across forks (os.getpid is a system call)


def _after_fork():
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_after_fork)


@functools.lru_cache(maxsize=None)
def _node_ip():
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"



from ray import _executor  # noqa: E402 (it reads this module's names as they are by then)

_raylet.set_task_executor(_executor._execute_task)
