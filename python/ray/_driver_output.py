"""What tasks print, on the driver's side: a thread reads the records that workers write to the
pipe (ray/_task_output.py) and prints each line through the driver's sys.stdout or sys.stderr
of the moment (so redirection and capture see them), after "(task pid=N) ", repeats folded
(ray/_line_folder.py; RAY_DEDUP_LOGS=0 turns folding off).

Order: a worker writes a task's lines before it sends the task's results, so ray.get and
ray.wait call drain() before they return: a task's output is printed before ray.get of its
results returns. stop() prints everything left.
"""

import mmap
import os
import select
import sys
import threading
import time

from ray import _task_output
from ray._line_folder import LineFolder


def _streams():
    return {_task_output.STDOUT: sys.stdout, _task_output.STDERR: sys.stderr}


class DriverOutput:
    """The pipe of one session and the thread that prints what comes through it. Made before
    the node starts (workers inherit write_fd), started after; stop() after the node stopped.
    drain() may be called from any thread."""

    def __init__(self):
        fold = os.environ.get("RAY_DEDUP_LOGS", "1") != "0"
        try:
            window = float(os.environ.get("RAY_DEDUP_LOGS_AGG_WINDOW_S", "5"))
        except ValueError:
            raise ValueError("RAY_DEDUP_LOGS_AGG_WINDOW_S must be a number of seconds, not "
                             f"{os.environ['RAY_DEDUP_LOGS_AGG_WINDOW_S']!r}") from None
        self._folder = LineFolder(window) if fold else None
        self._read_fd, self.write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        # Counts the records workers have written (ray/_task_output.py: shared memory made
        # before the node starts, so every worker has it): drain() reads the pipe only when it
        # moved, with no system call for a get when no task printed anything.
        self.written = mmap.mmap(-1, 8)
        self._drained = 0  # the count when drain() last read the pipe
        self._lock = threading.Lock()
        self._pending = b""  # bytes of a record not read whole yet
        self._partial = {}  # (pid, stream) -> (task name, start of a line not ended yet)
        self._stopping = False
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, name="ray task output", daemon=True)
        self._thread.start()

    def drain(self):
        """Prints what the pipe holds now. The thread reads under the lock: while it holds it,
        it may have taken lines from the pipe that it has not printed yet."""
        written = _task_output.count_written(self.written)
        if written != self._drained or self._lock.locked():
            with self._lock:
                self._drained = written  # before reading: later records move the count again
                self._read()

    def stop(self):
        """Prints everything left (the workers are gone), counts of repeats included, and
        closes the pipe."""
        self._stopping = True
        os.write(self.write_fd, next(_task_output.records(0, 0, b"", b"")))  # wakes the thread
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            self._read()
            for (pid, stream), (name, _) in list(self._partial.items()):
                self._print(pid, stream, name, b"\n")
            if self._folder is not None:
                self._write(self._folder.expire(everything=True))
            self._flush()
            os.close(self._read_fd)
            os.close(self.write_fd)

    def _run(self):
        while not self._stopping:
            timeout = None
            if self._folder is not None:
                deadline = self._folder.next_deadline()
                if deadline is not None:
                    timeout = max(0.0, deadline - time.monotonic())
            select.select([self._read_fd], [], [], timeout)
            with self._lock:
                if self._stopping:
                    return
                self._read()
                if self._folder is not None and self._write(self._folder.expire()):
                    self._flush()

    def _read(self):
        read = False
        while True:
            try:
                data = os.read(self._read_fd, 1 << 16)
            except BlockingIOError:
                break
            if not data:
                break
            read = True
            found, self._pending = _task_output.parse(self._pending + data)
            for pid, stream, name, text in found:
                if pid != 0:  # 0: stop()'s wake-up
                    self._print(pid, stream, name, text)
        if read:
            self._flush()

    @staticmethod
    def _flush():
        for stream in _streams().values():
            try:
                stream.flush()
            except Exception:  # a closed stdout must not break ray.get
                pass

    def _print(self, pid, stream, name, text):
        key = (pid, stream)
        text = self._partial.pop(key, (name, b""))[1] + text
        end = text.rfind(b"\n")
        if end < len(text) - 1:  # a line continues in the next record
            self._partial[key] = (name, text[end + 1:])
        if end < 0:
            return
        prefix = f"({name.decode(errors='replace')} pid={pid}) "
        for line in text[:end].decode(errors="replace").split("\n"):
            if self._folder is None:
                self._write([(stream, f"{prefix}{line}\n")])
            else:
                self._write(self._folder.add(stream, prefix, line))

    @staticmethod
    def _write(lines):
        """Writes (stream, text) pairs; returns how many."""
        streams = _streams()
        for stream, text in lines:
            try:
                streams[stream].write(text)
            except Exception:  # no stdout (pythonw), or a closed one
                pass
        return len(lines)
