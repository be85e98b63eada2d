"""The session as the caller sees it: ray.get_runtime_context() (which job, task and node the
caller runs in) and what ray.init returns."""

from ray import _raylet


class RuntimeContext:
    """IDs as hex strings. The job and node IDs are made by ray.init (every worker of the
    session shares them); the task ID is the running task's (None in the driver)."""

    def __init__(self, job_id, node_id, namespace, in_task):
        self._job_id = job_id
        self._node_id = node_id
        self._namespace = namespace
        self._in_task = in_task

    def get_job_id(self):
        return self._job_id

    def get_node_id(self):
        return self._node_id

    def get_task_id(self):
        """The ID of the task that calls it; None in the driver (outside tasks)."""
        if not self._in_task():
            return None
        return _raylet.current_task_id() or None

    def get_actor_id(self):
        """The ID of the actor whose method calls it (hex); None outside actors."""
        actor = _raylet.current_actor()
        return actor[0] if actor is not None else None

    @property
    def was_current_actor_reconstructed(self):
        """Whether the calling actor's __init__ ran before, in a process that died."""
        actor = _raylet.current_actor()
        return actor is not None and actor[1]

    @property
    def namespace(self):
        return self._namespace

    # Ray's older names.
    actor_id = property(get_actor_id)
    job_id = property(get_job_id)
    node_id = property(get_node_id)
    task_id = property(get_task_id)

    def get(self):
        return {"job_id": self.get_job_id(), "node_id": self.get_node_id(),
                "task_id": self.get_task_id(), "namespace": self.namespace}


class RayContext(dict):
    """What ray.init returns, as Ray's: a dict of the node's addresses (here its session
    folder and node ID), dashboard_url (None: no dashboard yet), and a context manager that
    shuts ray down on exit: `with ray.init(): ...`."""

    def __init__(self, session_dir, node_id):
        super().__init__(session_dir=session_dir, node_id=node_id)
        self.address_info = dict(self)
        self.dashboard_url = None

    def disconnect(self):
        import ray
        ray.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.disconnect()
