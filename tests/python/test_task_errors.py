"""A task's exception comes back as itself: its class (also one defined inside a function or in
__main__), its attributes, Ray's text; chained through nested gets and failed arguments."""

import errno
import os
import subprocess
import sys
import textwrap
import threading

import cloudpickle
import pytest

import ray
from ray.exceptions import RayTaskError


pytestmark = pytest.mark.usefixtures("ray_two_cpus")


class WithLock(Exception):
    """Cannot be pickled (a lock): comes back as its text."""

    def __init__(self):
        super().__init__("holds a lock")
        self.lock = threading.Lock()


def test_class_defined_inside_a_function_with_its_attributes():
    class Rejected(Exception):
        def __init__(self, code, reason):
            super().__init__(code, reason)
            self.code = code
            self.reason = reason

        def describe(self):
            return f"{self.code}: {self.reason}"

    @ray.remote
    def check(n):
        if n > 3:
            raise Rejected(n, "too big")
        return n

    with pytest.raises(Rejected) as info:  # the driver's own class
        ray.get(check.remote(7))
    e = info.value
    assert isinstance(e, RayTaskError)
    assert (e.code, e.reason, e.args, e.describe()) == (7, "too big", (7, "too big"), "7: too big")
    assert type(e.cause) is Rejected and e.cause.code == 7
    assert type(e).__name__ == "RayTaskError(Rejected)"
    text = str(e)
    assert text.startswith(f"ray::test_class_defined_inside_a_function_with_its_attributes."
                           f"<locals>.check() (pid={e.pid}, ip=")
    assert "raise Rejected(n, \"too big\")\n" in text
    # The remote traceback starts in the user's function, as Ray's does: no frame of ray's own.
    first_frame = text.splitlines()[1]
    assert first_frame.strip().startswith("File ") and "in check" in first_frame, text
    assert e.pid != os.getpid()
    # The error pickles (a local class: with cloudpickle) and comes back the same.
    again = cloudpickle.loads(cloudpickle.dumps(e))
    assert type(again) is type(e) and again.code == 7 and str(again) == text


def test_message_with_a_lone_surrogate_keeps_the_exception():
    @ray.remote
    def parse():
        # os.fsdecode of a file name that is not UTF-8 carries a lone surrogate.
        raise ValueError("cannot parse " + os.fsdecode(b"caf" + bytes([0xE9])))

    with pytest.raises(ValueError) as info:
        ray.get(parse.remote())
    assert isinstance(info.value, RayTaskError)
    assert "cannot parse caf" in str(info.value)


def test_built_in_exception_fields():
    @ray.remote
    def open_missing(path):
        open(path)

    with pytest.raises(FileNotFoundError) as info:
        ray.get(open_missing.remote("/nonexistent/file"))
    e = info.value
    assert e.errno == errno.ENOENT and e.filename == "/nonexistent/file"
    assert isinstance(e, OSError) and isinstance(e, RayTaskError)

    @ray.remote
    def lookup(d):
        return d["missing"]

    with pytest.raises(KeyError) as info:
        ray.get(lookup.remote({}))
    assert info.value.args == ("missing",)


def test_unpicklable_exception_comes_back_as_its_text():
    @ray.remote
    def locked():
        raise WithLock()

    with pytest.raises(RayTaskError) as info:
        ray.get(locked.remote())
    e = info.value
    assert e.cause is None  # not the exception itself: it could not be pickled
    assert isinstance(e, WithLock)  # its class, found by name (importable)
    assert "holds a lock" in str(e) and e.exception_type == "test_task_errors.WithLock"


class Heavy(Exception):
    """Its __init__ does not take the args it passes on (pickle's default would call it so)."""

    def __init__(self, size):
        super().__init__(f"holds {size} bytes")
        self.payload = b"x" * size


def test_exception_too_large_to_send_comes_back_as_its_text():
    @ray.remote
    def heavy(size):
        raise Heavy(size)

    with pytest.raises(Heavy) as small:
        ray.get(heavy.remote(1000))
    assert small.value.payload == b"x" * 1000 and small.value.cause is not None
    with pytest.raises(Heavy, match="holds 5000000 bytes") as large:  # found by name
        ray.get(heavy.remote(5_000_000))
    assert large.value.cause is None and not hasattr(large.value, "payload")


def test_three_levels_of_nested_gets_are_chained():
    @ray.remote
    def inner():
        raise ZeroDivisionError("deep")

    @ray.remote
    def middle():
        return ray.get(inner.remote())

    @ray.remote
    def outer():
        return ray.get(middle.remote())

    with pytest.raises(ZeroDivisionError) as info:
        ray.get(outer.remote())
    e = info.value
    text = str(e)
    names = [f"ray::{prefix}.<locals>.{name}()" for name in ("outer", "middle", "inner")
             for prefix in ["test_three_levels_of_nested_gets_are_chained"]]
    at = [text.index(name) for name in names]
    assert at == sorted(at), text
    assert e.cause.cause.function_name.endswith("inner")
    assert text.endswith("ZeroDivisionError: deep")


def test_failed_argument_says_so():
    @ray.remote
    def bad():
        raise ValueError("no value")

    @ray.remote
    def add(a, b):
        return a + b

    with pytest.raises(ValueError) as info:
        ray.get(add.remote(1, bad.remote()))
    e = info.value
    assert "At least one of the input arguments for this task could not be computed" in str(e)
    assert e.function_name.endswith("add") and e.cause.function_name.endswith("bad")


MAIN_DRIVER = """
    import ray

    class AppError(Exception):
        def __init__(self, detail):
            super().__init__(f"app failed: {detail}")
            self.detail = detail

    @ray.remote
    def work():
        raise AppError("disk full")

    ray.init(num_cpus=1)
    try:
        ray.get(work.remote())
    except AppError as e:
        assert isinstance(e, ray.exceptions.RayTaskError)
        assert e.detail == "disk full", e.detail
        print("caught", type(e.cause) is AppError)
    """


def test_class_defined_in_main(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(MAIN_DRIVER))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "caught True\n"


def test_retry_exceptions(tmp_path):
    attempts = tmp_path / "attempts"

    @ray.remote(max_retries=3, retry_exceptions=True)
    def flaky(fail_times, error):
        with open(attempts, "a") as f:
            f.write("x")
        if attempts.stat().st_size <= fail_times:
            raise error("not yet")
        return attempts.stat().st_size

    assert ray.get(flaky.remote(2, KeyError)) == 3  # two failures, then success
    attempts.unlink()
    with pytest.raises(KeyError):  # one run and three retries, all failed
        ray.get(flaky.remote(10, KeyError))
    assert attempts.stat().st_size == 4
    attempts.unlink()
    only_value_errors = flaky.options(retry_exceptions=[ValueError])
    with pytest.raises(KeyError):  # not retried
        ray.get(only_value_errors.remote(1, KeyError))
    assert attempts.stat().st_size == 1
    assert ray.get(only_value_errors.remote(2, ValueError)) == 3
    attempts.unlink()
    with pytest.raises(KeyError):  # the default: exceptions are not retried
        ray.get(flaky.options(retry_exceptions=False).remote(1, KeyError))
    assert attempts.stat().st_size == 1
    with pytest.raises(TypeError, match="retry_exceptions"):
        flaky.options(retry_exceptions="yes")
