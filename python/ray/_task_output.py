"""What tasks print, on the worker's side. In a worker, sys.stdout and sys.stderr send each line
a task prints to the driver, which prints it through its own sys.stdout or sys.stderr after the
task's name and pid, as Ray does: "(add pid=1234) the line" (ray/_driver_output.py).

The lines travel through a pipe that the driver makes before it starts the node, so every worker
(a fork of the driver) has its write end. Each write is one record of at most PIPE_BUF bytes,
which POSIX writes whole, so records of many workers never mix; a longer text goes as several
records, which the driver joins again per process and stream.
"""

import os
import select
import struct
import sys

# pid, stream (STDOUT or STDERR), task name length, text length; then the name and the text.
_HEADER = struct.Struct("<IBHH")
STDOUT, STDERR = 1, 2
RECORD_SIZE = select.PIPE_BUF
_MAX_NAME = 200  # bytes of a task name kept in each record


def records(pid, stream, name, text):
    """The records that carry `text` (bytes) printed by task `name` (bytes)."""
    name = name[:_MAX_NAME]
    room = RECORD_SIZE - _HEADER.size - len(name)
    for start in range(0, max(len(text), 1), room):
        piece = text[start:start + room]
        yield _HEADER.pack(pid, stream, len(name), len(piece)) + name + piece


def parse(buffer):
    """(records, rest) of bytes read from the pipe: records as (pid, stream, name, text), and
    the bytes of a record not read whole yet."""
    found = []
    at = 0
    while len(buffer) - at >= _HEADER.size:
        pid, stream, name_size, text_size = _HEADER.unpack_from(buffer, at)
        end = at + _HEADER.size + name_size + text_size
        if end > len(buffer):
            break
        name_at = at + _HEADER.size
        found.append((pid, stream, bytes(buffer[name_at:name_at + name_size]),
                      bytes(buffer[name_at + name_size:end])))
        at = end
    return found, buffer[at:]


# The write end of the driver's pipe, set by ray.init before the node starts; -1: task output
# is not sent to the driver (ray.init(log_to_driver=False)).
sink_fd = -1
# Shared memory (8 bytes) counting the records written to sink_fd, after each write: the driver
# reads the pipe only when it moved (ray/_driver_output.py). Concurrent workers may lose an
# increment to each other, but the count still moves past any value the driver has seen.
sink_count = None


def count_written(count):
    return struct.unpack_from("Q", count)[0]


class _TaskStream:
    """A worker's sys.stdout or sys.stderr: sends whole lines to the driver, under the name of
    the task that printed them."""

    def __init__(self, stream, number):
        self._stream = stream
        self._number = number
        self._line = ""  # the start of a line not ended yet
        self.name = b""

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        end = text.rfind("\n")
        if end < 0:
            self._line += text
        else:
            self._send(self._line + text[:end + 1])
            self._line = text[end + 1:]
        return len(text)

    def _send(self, text):
        if sink_fd < 0:
            return
        for record in records(_pid, self._number, self.name, text.encode(errors="replace")):
            os.write(sink_fd, record)
        if sink_count is not None:
            struct.pack_into("Q", sink_count, 0, count_written(sink_count) + 1)

    def end_line(self):
        """Sends a line the task did not end (a task's output always ends with a newline)."""
        if self._line:
            line, self._line = self._line, ""
            self._send(line + "\n")

    def flush(self):
        self._stream.flush()  # what went around this wrapper (sys.stdout.buffer, ...)

    def __getattr__(self, name):  # fileno, isatty, encoding, buffer...: the real stream's
        return getattr(self._stream, name)


_streams = []
_running = []  # the names of the tasks running in this worker, innermost last (nesting)
_pid = 0


def begin(task_name):
    """Called as a task starts in a worker: its lines go out under its name. A task may start
    inside another's wait (nested): end() gives the lines back to that one."""
    global _pid
    if not _streams:
        sys.stdout, sys.stderr = _TaskStream(sys.stdout, STDOUT), _TaskStream(sys.stderr, STDERR)
        _streams.extend([sys.stdout, sys.stderr])
        _pid = os.getpid()  # a worker's, for its life
    _running.append(task_name)
    _name_lines(task_name)


def _name_lines(task_name):
    name = task_name.encode(errors="replace")
    for stream in _streams:
        if stream.name != name:
            stream.end_line()  # the interrupted task's unfinished line, under its own name
            stream.name = name


def end():
    """Called as a task ends: its last line goes out now, before its results."""
    for stream in _streams:
        try:
            stream.end_line()
            stream.flush()
        except Exception:  # a closed or broken stream must not fail the task
            pass
    _running.pop()
    if _running:
        _name_lines(_running[-1])
