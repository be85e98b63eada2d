"""Folding repeated lines of task output, as Ray does: the first line of a kind is printed at
once; the same line printed again (by any task, in any worker) within the window is counted
instead, and when the window ends the last of them is printed once with "[repeated Nx across
cluster]". Lines are the same if they are equal but for words with digits in them (pids,
counters, timings). Pure: the driver's output thread feeds it and prints what it returns."""

import time


def _kind(line):
    return " ".join(word for word in line.split() if not any(c.isdigit() for c in word))


class LineFolder:
    def __init__(self, window_seconds, clock=time.monotonic):
        self._window = window_seconds
        self._clock = clock
        self._open = {}  # (stream, kind) -> [window end, repeats, last prefix, last line]

    def add(self, stream, prefix, line):
        """A line (without its newline) that a task printed: returns the (stream, text) pairs
        to print now."""
        kind = _kind(line)
        if not kind:  # blank, or numbers only: nothing to fold it with
            return [(stream, f"{prefix}{line}\n")]
        now = self._clock()
        out = []
        entry = self._open.get((stream, kind))
        if entry is not None and now >= entry[0]:
            out += self._close((stream, kind))
            entry = None
        if entry is None:
            self._open[(stream, kind)] = [now + self._window, 0, prefix, line]
            out.append((stream, f"{prefix}{line}\n"))
        else:
            entry[1] += 1
            entry[2], entry[3] = prefix, line
        return out

    def next_deadline(self):
        """When the next window ends (clock time), or None."""
        return min((entry[0] for entry in self._open.values()), default=None)

    def expire(self, everything=False):
        """Closes the windows that ended (all of them if `everything`): their counts to print."""
        now = self._clock()
        out = []
        for key in [k for k, entry in self._open.items() if everything or now >= entry[0]]:
            out += self._close(key)
        return out

    def _close(self, key):
        _, repeats, prefix, line = self._open.pop(key)
        if repeats == 0:
            return []
        return [(key[0], f"{prefix}{line} [repeated {repeats}x across cluster]\n")]
