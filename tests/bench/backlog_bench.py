"""How fast a backlog of Python tasks drains, by its length (the Python twin of backlog_bench.cc).

    bazel run -c opt //tests/bench:backlog_bench_py [-- --sizes=10000,100000,1000000 --trials=3]

Two workers are held by two tasks that block on a pipe; N no-op tasks are submitted behind them;
then the pipe releases the blockers and the clock runs until ray.get of all N returns. The
10,000 backlog is the baseline measured in the same run: a scheduler whose queue operations are
O(1) or O(log n) drains 1,000,000 at about its rate. Also printed: the driver's memory per
queued task (its resident set before and after submitting; each measurement runs in a new
interpreter, so that memory freed by an earlier one does not hide the growth) and the rate of
the same tasks with the workers free.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import ray


@ray.remote
def noop(x):
    return x


@ray.remote
def block_on(fd):
    """Returns once the driver writes a byte into the pipe (workers are forks of the driver)."""
    return len(os.read(fd, 1))


def resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGESIZE")


def drain_backlog(n):
    """(tasks/s from the release to the last result, resident bytes per queued task)."""
    pipe = os.pipe()  # before ray.init, so that the workers have it
    ray.init(num_cpus=2)
    try:
        blockers = [block_on.remote(pipe[0]) for _ in range(2)]
        before = resident_bytes()
        refs = [noop.remote(i) for i in range(n)]
        per_task = (resident_bytes() - before) / n
        start = time.perf_counter()
        os.write(pipe[1], b"xx")
        values = ray.get(refs)
        rate = n / (time.perf_counter() - start)
        assert values[-1] == n - 1 and ray.get(blockers) == [1, 1]
        return rate, per_task
    finally:
        ray.shutdown()
        os.close(pipe[0])
        os.close(pipe[1])


def drain_in_new_process(n):
    """drain_backlog(n) in a new interpreter."""
    out = subprocess.run([sys.executable, __file__, f"--one={n}"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return tuple(json.loads(out.strip().splitlines()[-1]))


def unqueued(n):
    ray.init(num_cpus=2)
    try:
        start = time.perf_counter()
        ray.get([noop.remote(i) for i in range(n)])
        return n / (time.perf_counter() - start)
    finally:
        ray.shutdown()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # one measurement, as JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(drain_backlog(args.one)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    rates = {n: [] for n in sizes}
    memory = {n: [] for n in sizes}
    free = []
    for _ in range(max(1, args.trials)):  # sizes interleaved, so drift hits them alike
        for n in sizes:
            rate, per_task = drain_in_new_process(n)
            rates[n].append(rate)
            memory[n].append(per_task)
        free.append(unqueued(sizes[0]))
    print(f"libray Python backlog benchmark: 2 workers, {args.trials} trials, medians")
    print(f"{'no backlog (workers free)':40} {statistics.median(free):12.0f} tasks/s")
    baseline = statistics.median(rates[sizes[0]])
    for i, n in enumerate(sizes):
        rate = statistics.median(rates[n])
        line = (f"{f'backlog of {n} drains at':40} {rate:12.0f} tasks/s  x{rate / baseline:.2f} of "
                f"the {sizes[0]} backlog  driver memory {statistics.median(memory[n]):6.0f} B/task")
        if i == len(sizes) - 1 and i > 0:
            line += f"  target >= x0.80: {'PASS' if rate / baseline >= 0.8 else 'MISS'}"
        print(line)
    largest = statistics.median(memory[sizes[-1]]) * sizes[-1]
    print(f"{'driver memory for the largest backlog':40} {largest / 1e6:12.0f} MB  target < 2000 MB: "
          f"{'PASS' if largest < 2e9 else 'MISS'}")


if __name__ == "__main__":
    main()
