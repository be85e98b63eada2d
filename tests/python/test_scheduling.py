"""When results become visible: a finished task's result is never held back behind the task
queued after it on the same worker."""

import os

import ray


@ray.remote
def block_on(fd):
    """Returns once the test writes a byte into the pipe (workers are forks of the driver made
    at ray.init, so they have the pipes made before it)."""
    return len(os.read(fd, 1))


@ray.remote
def quick(x):
    return x + 1


def test_a_result_is_not_held_behind_the_next_task_on_its_worker():
    first_gate, long_gate = os.pipe(), os.pipe()
    ray.init(num_cpus=1)
    try:
        # `first` holds the only worker while `a` and `b` queue behind it, so that the worker
        # receives both at once; `b` then blocks until the test has seen a's result.
        first = block_on.remote(first_gate[0])
        a = quick.remote(1)
        b = block_on.remote(long_gate[0])
        os.write(first_gate[1], b"x")
        assert ray.get(first, timeout=60) == 1
        # Before the fix the wait returned nothing ready and the get timed out.
        ready, not_ready = ray.wait([a, b], num_returns=1, timeout=60)
        assert ready == [a] and not_ready == [b]
        assert ray.get(a, timeout=60) == 2
        os.write(long_gate[1], b"x")
        assert ray.get(b, timeout=60) == 1
    finally:
        ray.shutdown()
        for fd in first_gate + long_gate:
            os.close(fd)
