"""Python actor calls, modelled on `ray microbenchmark`'s actor rows, each beside baselines
measured in the same run: a task of the same shape (the target: actor calls at least as fast)
and a plain method call under a lock in this process. The last row calls an async actor (its
methods run on one event loop in its process, many at once).

    bazel run -c opt //tests/bench:actor_bench_py [-- --workers=2 --trials=5 --quick]

Ray's published figures (64 cores): 1:1 sync about 2,000/s, 1:1 async about 8,600/s, n:n
async about 27,000/s. Results are recorded in docs/PERFORMANCE.md.
"""

import argparse
import statistics
import threading
import time

import numpy as np

import ray

BATCH = 1000  # async calls submitted before getting them all


@ray.remote
class Counter:
    def __init__(self):
        self.value = 0

    def add(self, x):
        self.value += x
        return self.value

    def take(self, array):
        self.value += 1
        return len(array)


@ray.remote
class AsyncCounter:  # an async actor: its calls run on one event loop, many at once
    def __init__(self):
        self.value = 0

    async def add(self, x):
        self.value += x
        return self.value


@ray.remote
def add_task(x):
    return x + 1


@ray.remote
def take_task(array):
    return len(array)


@ray.remote
def caller_of_actor(counter, calls):
    return ray.get([counter.add.remote(1) for _ in range(calls)])[-1]


@ray.remote
def caller_of_tasks(calls):
    return ray.get([add_task.remote(i) for i in range(calls)])[-1]


class Local:
    def __init__(self):
        self.value = 0
        self.lock = threading.Lock()

    def add(self, x):
        with self.lock:
            self.value += x
            return self.value


def rate(op, calls_per_op, seconds):
    """Runs op() until `seconds` have passed (at least once); calls per second."""
    ops = 0
    start = time.perf_counter()
    while True:
        op()
        ops += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return ops * calls_per_op / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = 0.3 if args.quick else 1.2
    per_caller = 100 if args.quick else 1000
    ray.init(num_cpus=args.workers)
    counter = Counter.remote()
    pair = [Counter.remote() for _ in range(2)]
    async_counter = AsyncCounter.remote()
    ray.get([c.add.remote(0) for c in [counter, async_counter] + pair])
    array = np.ones(1 << 20, dtype=np.uint8)
    local = Local()
    rows = {
        "actor calls 1:1 sync": (lambda: ray.get(counter.add.remote(1)), 1,
                                 lambda: ray.get(add_task.remote(1)), 1),
        "actor calls 1:1 async (1,000, get all)": (
            lambda: ray.get([counter.add.remote(1) for _ in range(BATCH)]), BATCH,
            lambda: ray.get([add_task.remote(i) for i in range(BATCH)]), BATCH),
        "actor calls 1:n async (2 actors)": (
            lambda: ray.get([pair[i % 2].add.remote(1) for i in range(BATCH)]), BATCH,
            lambda: ray.get([add_task.remote(i) for i in range(BATCH)]), BATCH),
        "actor calls n:n async (2 callers, 2 actors)": (
            lambda: ray.get([caller_of_actor.remote(c, per_caller) for c in pair]),
            2 * per_caller,
            lambda: ray.get([caller_of_tasks.remote(per_caller) for _ in pair]), 2 * per_caller),
        "actor calls with a 1 MiB argument": (
            lambda: ray.get([counter.take.remote(array) for _ in range(20)]), 20,
            lambda: ray.get([take_task.remote(array) for _ in range(20)]), 20),
        "actor calls 1:1 async, async actor (1,000)": (
            lambda: ray.get([async_counter.add.remote(1) for _ in range(BATCH)]), BATCH,
            lambda: ray.get([add_task.remote(i) for i in range(BATCH)]), BATCH),
    }
    results = {name: ([], [], []) for name in rows}
    for trial in range(args.trials):
        for name, (actor_op, actor_calls, task_op, task_calls) in rows.items():
            actors, tasks, plain = results[name]
            # Which goes first alternates: neither gains from the order.
            if trial % 2 == 0:
                actors.append(rate(actor_op, actor_calls, seconds))
            tasks.append(rate(task_op, task_calls, seconds))
            if trial % 2 == 1:
                actors.append(rate(actor_op, actor_calls, seconds))
            plain.append(rate(lambda: local.add(1), 1, seconds / 4))
    ray.shutdown()
    print(f"libray Python actor benchmark: {args.workers} workers, {args.trials} trials"
          f"{', quick' if args.quick else ''}, medians")
    for name, (actors, tasks, plain) in results.items():
        a, t, p = (statistics.median(v) for v in (actors, tasks, plain))
        # Each trial's actor and task rates are measured one after the other: the median of
        # their ratios leaves out the VM's drift over the run.
        ratio = statistics.median(x / y for x, y in zip(actors, tasks))
        print(f"{name:<44} {a:10.0f} /s  task of the same shape {t:10.0f} /s (x{ratio:.2f})  "
              f"locked call {p:12.0f} /s  target >= x1.00: {'PASS' if ratio >= 1 else 'MISS'}")


if __name__ == "__main__":
    main()
