"""A Python driver's worker on another node of its cluster.

A node starts it as `python3 -u -c "import ray._remote_worker" SETTINGS` (the driver's
interpreter from the node's program cache, its sys.path as PYTHONPATH: ray/_worker.py
_remote_worker_command) with the variables that make the extension's runtime connect back to
the driver's scheduler. Importing this module serves tasks until the driver goes, then exits;
in a process no node started, it raises RayError. The head's node starts the program's actor
host with the same command line and RAY_ACTOR_HOST_HEAD (ray/core_worker/actor_host.h): then
it serves as that host until the head is gone.
"""

import json
import os
import sys

from ray import _worker

_settings = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
if os.environ.get("RAY_ACTOR_HOST_HEAD"):
    _worker._serve_actor_host(_settings)
else:
    _worker._serve_remote_worker(_settings)
