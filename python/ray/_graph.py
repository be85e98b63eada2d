"""The computation graph of this driver: every task, who launched it, the objects it reads and
returns (recorded by the scheduler, ray/observability/task_graph.h)."""

import json
import os
import shutil
import subprocess
import tempfile

from ray import _raylet


def visualize_computation_graph(file_path=None, view=False):
    """Draws the computation graph as the 2016 tutorial shows it: tasks are boxes, objects
    ovals, dotted edges from a task to the tasks it launched, solid edges for data, failed
    tasks red. The file's extension picks the format: .svg (default), .png or .dot.

    file_path: where to write (default: a new file in the temp dir). view=True opens it in a
    viewer if there is one, else prints its path. Returns the path.
    """
    if file_path is None:
        fd, file_path = tempfile.mkstemp(prefix="ray-compgraph-", suffix=".svg")
        os.close(fd)
    file_path = os.fspath(file_path)
    _raylet.write_graph(file_path)
    if view:
        _view(file_path)
    return file_path


def _view(path):
    opener = shutil.which("xdg-open") if os.environ.get("DISPLAY") or os.environ.get(
        "WAYLAND_DISPLAY") else None
    if opener:
        subprocess.Popen([opener, path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    else:
        print(f"computation graph: {path}")


def timeline(filename=None):
    """The tasks' timeline as Chrome trace events (one row per worker, one slice per task), for
    Perfetto or chrome://tracing: written to filename if given, else returned as a list."""
    trace = _raylet.timeline_json()  # {"traceEvents": [...], ...}
    if filename is None:
        return json.loads(trace)["traceEvents"]
    with open(filename, "w") as f:
        f.write(trace)
    return None
