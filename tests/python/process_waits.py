"""Waits on processes and files for the Python tests: by pidfd or bounded looks, never a timing
assert."""
import os
import select
import time


def alive(pid):
    """Whether process pid runs (a zombie waiting for its parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def ends_within(pid, seconds=30):
    """Waits for process pid to end (by pidfd, a generous bound); whether it did."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], seconds)[0])
    finally:
        os.close(fd)


def wait_for_file(path, seconds=30):
    """Waits for the file at path to exist (bounded); whether it does."""
    deadline = time.monotonic() + seconds
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.005)  # a pause between looks
    return os.path.exists(path)
