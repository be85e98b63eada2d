"""What tasks print. In a worker, sys.stdout and sys.stderr put the task before each line, as
Ray does: "(add pid=1234) the line". Lines reach the driver's terminal (the workers share its
stdout and stderr) whole, and are flushed when the task ends."""

import os
import sys


class _TaskStream:
    """A worker's sys.stdout or sys.stderr: writes whole lines, each with the task's prefix."""

    def __init__(self, stream):
        self._stream = stream
        self._line = ""  # the start of a line not ended yet
        self.written = False  # since the task began
        self.prefix = ""

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.written = True
        lines = (self._line + text).split("\n")
        self._line = lines.pop()
        if lines:
            self._stream.write("".join(f"{self.prefix}{line}\n" for line in lines))
        return len(text)

    def end_line(self):
        """Writes a line the task did not end (a task's output always ends with a newline)."""
        if self._line:
            self._stream.write(f"{self.prefix}{self._line}\n")
            self._line = ""

    def end_task(self):
        self.end_line()
        self._stream.flush()
        self.written = False

    def flush(self):
        self._stream.flush()

    def __getattr__(self, name):  # fileno, isatty, encoding, buffer...: the real stream's
        return getattr(self._stream, name)


_streams = []
_running = []  # the names of the tasks running in this worker, innermost last (nesting)
_pid = 0


def begin(task_name):
    """Called as a task starts in a worker: its lines get "(task_name pid=N) ". A task may
    start inside another's wait (nested): end() gives the lines back to that one."""
    global _pid
    if not _streams:
        sys.stdout, sys.stderr = _TaskStream(sys.stdout), _TaskStream(sys.stderr)
        _streams.extend([sys.stdout, sys.stderr])
        _pid = os.getpid()  # a worker's, for its life
    _running.append(task_name)
    _name_lines(task_name)


def _name_lines(task_name):
    prefix = f"({task_name} pid={_pid}) "
    for stream in _streams:
        if stream.prefix != prefix:
            stream.end_line()  # the interrupted task's unfinished line, under its own name
            stream.prefix = prefix


def end():
    """Called as a task ends: its last lines go out now."""
    for stream in _streams:
        try:
            if stream.written:
                stream.end_task()
            else:
                stream.flush()  # what went around the wrapper (sys.stdout.buffer, ...)
        except Exception:  # a closed or broken stream must not fail the task
            pass
    _running.pop()
    if _running:
        _name_lines(_running[-1])
