"""Python tasks and objects: this ray beside Dask distributed and ProcessPoolExecutor.

    bazel run -c opt //tests/bench:python_bench [-- --workers=2 --trials=5 --quick]
    PYTHONPATH=bazel-bin/python/pkg /usr/bin/python3 tests/bench/python_bench.py [...]

Every system gets the same number of worker processes (--workers): ray.init(num_cpus=N),
Dask's LocalCluster(n_workers=N, threads_per_worker=1, processes=True) with a Client, and
concurrent.futures.ProcessPoolExecutor(N). Each trial starts each system anew, measures it and
stops it, so drift in the machine's speed hits all three alike. Rates come from time-bounded
loops (--seconds each) after a warm-up; a figure is the median over the trials, [min..max].
Results are recorded in docs/PERFORMANCE.md.
"""

import argparse
import concurrent.futures
import contextlib
import itertools
import logging
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time

import numpy as np

SYSTEMS = ("ray", "dask", "ppe")
TASK_BATCH = 1000  # tasks submitted before getting them all, as in `ray microbenchmark`
SMALL_VALUE = 12345


# The tasks. Module-level, so that ProcessPoolExecutor can pickle them by name.
def small_value(i):
    return i + 1


def make_array(nbytes):
    return np.ones(nbytes, dtype=np.uint8)


# ---------------------------------------------------------------------------------------------
# Timing


def rate(op, seconds, chunk=1):
    """Calls op() in chunks of `chunk` calls until `seconds` have passed; returns calls/s."""
    calls = 0
    start = time.perf_counter()
    end = start + seconds
    while True:
        for _ in range(chunk):
            op()
        calls += chunk
        now = time.perf_counter()
        if now >= end:
            return calls / (now - start)


def warm_rate(op, seconds, chunk=1):
    """rate() after a warm-up of a tenth of the time."""
    rate(op, seconds / 10, chunk)
    return rate(op, seconds, chunk)


def median_seconds(op, seconds, max_reps=20):
    """Median duration of op() after one untimed call: repeats until `seconds` have passed (at
    least once, at most max_reps times)."""
    op()
    durations = []
    end = time.perf_counter() + seconds
    while not durations or (time.perf_counter() < end and len(durations) < max_reps):
        start = time.perf_counter()
        op()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)


def cycling_rate(op, items, seconds, chunk=1):
    """warm_rate() of op(item) for one item after another (items live as long as the call)."""
    items = itertools.cycle(items)
    return warm_rate(lambda: op(next(items)), seconds, chunk)


def put_array_rate(put, nbytes, seconds):
    """GB/s of put(array) for an array of nbytes."""
    array = np.ones(nbytes, dtype=np.uint8)
    return nbytes / median_seconds(lambda: put(array), seconds) / 1e9


def get_ms(get, ref, seconds):
    """Milliseconds of get(ref)."""
    return 1e3 * median_seconds(lambda: get(ref), seconds)


# ---------------------------------------------------------------------------------------------
# The systems. Each measure() returns {figure: value} for the figures that apply to it.


@contextlib.contextmanager
def sigint_ignored():
    """Processes started inside inherit an ignored SIGINT, so that Ctrl-C reaches only this
    process, which then stops them in order (instead of each printing its own traceback).
    Meanwhile this thread blocks SIGINT: Linux keeps a blocked signal pending even while it is
    ignored, so a Ctrl-C during the start is handled after it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class Ray:
    name = "ray"

    def __init__(self, args):
        import ray
        self.ray = ray
        self.args = args
        self.small_value = ray.remote(small_value)
        self.make_array = ray.remote(make_array)

    def start(self):
        with sigint_ignored():
            self.ray.init(num_cpus=self.args.workers)
        self.ray.get(self.small_value.remote(0))

    def stop(self):
        self.ray.shutdown()

    def measure(self):
        ray, seconds, nbytes = self.ray, self.args.seconds, self.args.array_bytes
        figures = {}
        figures["sync"] = warm_rate(lambda: ray.get(self.small_value.remote(0)), seconds)
        figures["async"] = TASK_BATCH * warm_rate(
            lambda: ray.get([self.small_value.remote(i) for i in range(TASK_BATCH)]), seconds)
        figures["put"] = warm_rate(lambda: ray.put(SMALL_VALUE), seconds, chunk=100)
        figures["get"] = cycling_rate(
            ray.get, [ray.put(SMALL_VALUE) for _ in range(1000)], seconds, chunk=100)
        figures["put_large"] = put_array_rate(ray.put, nbytes, seconds)
        made = self.make_array.remote(nbytes)
        ray.wait([made])
        figures["get_large"] = get_ms(ray.get, made, seconds)
        del made
        figures["task_large"] = 1e3 * median_seconds(
            lambda: ray.get(self.make_array.remote(nbytes)), seconds)
        return figures


class Dask:
    name = "dask"

    def __init__(self, args):
        import distributed
        self.distributed = distributed
        self.args = args
        self.cluster = self.client = None
        self.directory = None

    def start(self):
        # Dask logs at WARNING about slow event loops, closing workers, ... in every process;
        # and an interrupted gather leaves a "Task exception was never retrieved" (asyncio's
        # log) for every future.
        logging.getLogger("distributed").setLevel(logging.ERROR)
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        # Workers' scratch space, which otherwise goes into the working directory.
        self.directory = tempfile.mkdtemp(prefix="python_bench_dask_")
        with sigint_ignored():
            self.cluster = self.distributed.LocalCluster(
                n_workers=self.args.workers, threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.ERROR,
                local_directory=self.directory)
            self.client = self.distributed.Client(self.cluster)
        self.client.submit(small_value, 0, pure=False).result()

    def stop(self):
        for closable in (self.client, self.cluster):
            if closable is not None:
                closable.close()
        self.client = self.cluster = None
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def measure(self):
        client, seconds, nbytes = self.client, self.args.seconds, self.args.array_bytes
        figures = {}
        # pure=False and hash=False: every call is a new key, as every ray call is a new object.
        figures["sync"] = warm_rate(
            lambda: client.submit(small_value, 0, pure=False).result(), seconds)
        figures["async"] = TASK_BATCH * warm_rate(
            lambda: client.gather(
                [client.submit(small_value, i, pure=False) for i in range(TASK_BATCH)]),
            seconds)
        figures["put"] = warm_rate(lambda: client.scatter(SMALL_VALUE, hash=False), seconds)
        figures["get"] = cycling_rate(
            lambda future: future.result(),
            client.scatter([SMALL_VALUE] * 1000, hash=False), seconds)
        figures["put_large"] = put_array_rate(
            lambda array: client.scatter(array, hash=False), nbytes, seconds)
        made = client.submit(make_array, nbytes, pure=False)
        self.distributed.wait(made)
        figures["get_large"] = get_ms(lambda future: future.result(), made, seconds)
        del made
        figures["task_large"] = 1e3 * median_seconds(
            lambda: client.submit(make_array, nbytes, pure=False).result(), seconds)
        return figures


class ProcessPool:
    name = "ppe"

    def __init__(self, args):
        self.args = args
        self.executor = None

    def start(self):
        with sigint_ignored():
            self.executor = concurrent.futures.ProcessPoolExecutor(self.args.workers)
            self.executor.submit(small_value, 0).result()  # forks the workers

    def stop(self):
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None

    def measure(self):
        executor, seconds, nbytes = self.executor, self.args.seconds, self.args.array_bytes
        figures = {}
        figures["sync"] = warm_rate(lambda: executor.submit(small_value, 0).result(), seconds)
        figures["async"] = TASK_BATCH * warm_rate(
            lambda: [f.result() for f in
                     [executor.submit(small_value, i) for i in range(TASK_BATCH)]],
            seconds)
        figures["task_large"] = 1e3 * median_seconds(
            lambda: executor.submit(make_array, nbytes).result(), seconds)
        return figures


# ---------------------------------------------------------------------------------------------
# Report


class Figure:
    def __init__(self, key, label, unit, higher_is_better, target=None):
        self.key, self.label, self.unit = key, label, unit
        self.higher_is_better = higher_is_better
        self.target = target  # ray's: a minimum if higher is better, else a maximum

    def format(self, value):
        if self.unit == "/s":
            return f"{value:,.0f}"
        if self.unit == "GB/s":
            return f"{value:.2f}"
        return f"{value:.3g}" if value < 100 else f"{value:,.0f}"

    def target_text(self, value):
        if self.target is None:
            return ""
        sign = ">=" if self.higher_is_better else "<"
        met = value >= self.target if self.higher_is_better else value < self.target
        return f"{sign} {self.format(self.target)} {self.unit}: {'PASS' if met else 'MISS'}"


def figures_for(args):
    size = f"{args.array_mb:g} MB"
    return [
        Figure("start", "start (until a first task's result)", "ms", False),
        Figure("sync", "tasks sync (submit 1, get, repeat)", "/s", True, 5000),
        Figure("async", f"tasks async (submit {TASK_BATCH:,}, get all)", "/s", True, 20000),
        Figure("put", "put calls (small value)", "/s", True, 20000),
        Figure("get", "get calls (small value)", "/s", True, 20000),
        Figure("put_large", f"put of a {size} array", "GB/s", True),
        # The target is for 100 MB (a smaller --array-mb is not judged).
        Figure("get_large", f"get of a {size} array (made by a task)", "ms", False,
               1.0 if args.array_mb == 100 else None),
        Figure("task_large", f"task returning a {size} array", "ms", False),
    ]


def print_report(args, results, systems, local_array_ms):
    """results[system][figure key]: the list of per-trial values."""
    def summary(values):
        if not values:
            return "n/a"
        return (f"{figure.format(statistics.median(values))} "
                f"[{figure.format(min(values))}..{figure.format(max(values))}]")

    def ratio(system):
        ours, theirs = results["ray"].get(figure.key), results[system].get(figure.key)
        if not ours or not theirs:
            return "n/a"
        return f"{statistics.median(ours) / statistics.median(theirs):.3g}"

    print(f"\nPython benchmark: {args.workers} workers each, {args.trials} trial(s) of "
          f"{args.seconds:g} s a figure; median [min..max] over the trials")
    print("ray: this ray; dask: Dask distributed LocalCluster (processes, 1 thread each) + "
          "Client; ppe: concurrent.futures.ProcessPoolExecutor")
    print("ray/dask, ray/ppe: ratio of the medians (for ms, lower is better)\n")
    header = (f"{'figure':<40} {'unit':<5} " + " ".join(f"{s:<27}" for s in SYSTEMS)
              + f" {'ray/dask':>8} {'ray/ppe':>8}  ray target")
    print(header)
    print("-" * len(header))
    for figure in figures_for(args):
        cells = " ".join(f"{summary(results[s].get(figure.key)):<27}" for s in SYSTEMS)
        ray_values = results["ray"].get(figure.key)
        target = figure.target_text(statistics.median(ray_values)) if ray_values else ""
        print(f"{figure.label:<40} {figure.unit:<5} {cells} {ratio('dask'):>8} "
              f"{ratio('ppe'):>8}  {target}".rstrip())
    print(f"\nmaking the {args.array_mb:g} MB array in this process (np.ones): "
          f"{local_array_ms:.3g} ms (part of 'task returning')")
    skipped = [s for s in SYSTEMS if s not in systems]
    if skipped:
        print(f"not run: {', '.join(skipped)}")


# ---------------------------------------------------------------------------------------------
# Processes


def child_processes():
    """PIDs of this process's descendants, from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        parents[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def is_resource_tracker(pid):
    """multiprocessing's resource tracker, which exits when this process does."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"multiprocessing.resource_tracker" in f.read()
    except OSError:
        return False


def stop_leftover_processes(grace_seconds=5.0):
    """Waits for the processes the systems started to exit after stop(); kills any left.
    Returns how many had to be killed."""
    end = time.monotonic() + grace_seconds
    while True:
        left = [pid for pid in child_processes() if not is_resource_tracker(pid)]
        if not left or time.monotonic() >= end:
            break
        time.sleep(0.05)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(left)


# ---------------------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes per system")
    parser.add_argument("--trials", type=int, help="trials (default 5; --quick: 1)")
    parser.add_argument("--seconds", type=float,
                        help="time a figure is measured in each trial (default 0.8; --quick: 0.05)")
    parser.add_argument("--array-mb", type=float, help="large array size (default 100; --quick: 10)")
    parser.add_argument("--systems", default=",".join(SYSTEMS),
                        help=f"comma-separated subset of {','.join(SYSTEMS)}")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    args = parser.parse_args(argv)
    quick = args.quick
    args.trials = args.trials or (1 if quick else 5)
    args.seconds = args.seconds or (0.05 if quick else 0.8)
    args.array_mb = args.array_mb or (10 if quick else 100)
    args.array_bytes = int(args.array_mb * 1e6)
    args.systems = [s for s in args.systems.split(",") if s]
    unknown = set(args.systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")
    return args


class Interruption:
    """SIGINT (Ctrl-C) and SIGTERM (e.g. a test's timeout) raise KeyboardInterrupt while the
    benchmark measures; while it stops what it started they are only noted, so that the
    stopping completes."""

    def __init__(self):
        self.received = False
        self.stopping = False
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, signum, frame):
        self.received = True
        if not self.stopping:
            raise KeyboardInterrupt


def run_trials(args, systems, results):
    for trial in range(args.trials):
        for system in systems:
            print(f"trial {trial + 1}/{args.trials}: {system.name} ...", flush=True)
            began = time.perf_counter()
            try:
                system.start()
                started_ms = 1e3 * (time.perf_counter() - began)
                figures = {"start": started_ms, **system.measure()}
            finally:
                system.stop()
            for key, value in figures.items():
                results[system.name].setdefault(key, []).append(value)


def main(argv):
    args = parse_args(argv)
    interruption = Interruption()
    classes = {"ray": Ray, "dask": Dask, "ppe": ProcessPool}
    systems = [classes[name](args) for name in args.systems]
    results = {name: {} for name in SYSTEMS}
    start = time.perf_counter()
    try:
        run_trials(args, systems, results)
    except BaseException:
        # A signal also reaches ray's object store, which then stops: the error that causes
        # can be raised here before the signal's KeyboardInterrupt.
        interruption.stopping = True
        for system in systems:
            system.stop()
        stop_leftover_processes()
        if not interruption.received:
            raise
        print("interrupted: stopped everything the benchmark started", file=sys.stderr)
        return 130
    killed = stop_leftover_processes()
    local_array_ms = 1e3 * median_seconds(lambda: make_array(args.array_bytes), 0.2, max_reps=5)
    print_report(args, results, args.systems, local_array_ms)
    print(f"\nran {', '.join(args.systems)} in {time.perf_counter() - start:.0f} s; "
          f"processes left running after stop: {killed}" + (" (killed)" if killed else ""))
    return 1 if killed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
