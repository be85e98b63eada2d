"""What tasks print reaches the driver's sys.stdout / sys.stderr, named, before ray.get returns;
repeats are folded as Ray folds them; log_to_driver=False keeps it out."""

import contextlib
import io
import os
import time

import pytest

import ray


@pytest.fixture
def session(monkeypatch):
    """ray.init(**kwargs), shut down after the test. Folding windows never close by themselves
    (no timing in the tests): shutdown prints the counts."""
    monkeypatch.setenv("RAY_DEDUP_LOGS_AGG_WINDOW_S", "100000")

    def start(**kwargs):
        ray.init(num_cpus=2, **kwargs)

    yield start
    ray.shutdown()


@ray.remote
def say(text, to_stderr=False):
    import sys
    print(text, file=sys.stderr if to_stderr else sys.stdout)
    return os.getpid()


def test_lines_are_printed_before_get_returns(session, capsys, monkeypatch):
    monkeypatch.setenv("RAY_DEDUP_LOGS", "0")  # "line 1" would be folded into "line 0"
    session()
    for i in range(20):  # each get finds its task's line already printed, in order
        pid = ray.get(say.remote(f"line {i}"))
        print(f"after {i}")
        assert capsys.readouterr().out == f"(say pid={pid}) line {i}\nafter {i}\n"
    pid = ray.get(say.remote("to stderr", to_stderr=True))
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", f"(say pid={pid}) to stderr\n")


class SlowStream(io.StringIO):
    """A stdout that takes its time: the driver's output thread is still printing lines it
    took from the pipe when ray.get returns (what ray.get must wait for)."""

    def write(self, text):
        time.sleep(0.001)  # slows the printer down; nothing here measures time
        return super().write(text)


def test_all_lines_are_printed_before_get_returns_even_to_a_slow_stdout(session, monkeypatch):
    monkeypatch.setenv("RAY_DEDUP_LOGS", "0")
    session()

    @ray.remote
    def count(n):
        for i in range(n):
            print("line", i)

    for _ in range(3):
        out = SlowStream()
        with contextlib.redirect_stdout(out):
            ray.get(count.remote(200))
            printed = out.getvalue().count(" line ")
        assert printed == 200


def test_redirected_stdout_gets_them(session):
    session()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        pid = ray.get(say.remote("redirected"))
    assert out.getvalue() == f"(say pid={pid}) redirected\n"


def test_long_and_unfinished_lines(session, capsys):
    session()

    @ray.remote
    def write():
        import sys
        sys.stdout.write("x" * 20000 + "\n" + "no newline")  # longer than a pipe record
        return os.getpid()

    pid = ray.get(write.remote())
    assert capsys.readouterr().out == (f"(test_long_and_unfinished_lines.<locals>.write "
                                       f"pid={pid}) {'x' * 20000}\n"
                                       f"(test_long_and_unfinished_lines.<locals>.write "
                                       f"pid={pid}) no newline\n")


def test_repeated_lines_are_folded(session, capsys):
    session()
    ray.get([say.remote("same text") for _ in range(10)] + [say.remote("other 1"),
                                                            say.remote("other 2")])
    ray.shutdown()  # prints every count left
    lines = capsys.readouterr().out.splitlines()
    same = [line for line in lines if line.endswith("same text")]
    folded = [line for line in lines if line.endswith("same text [repeated 9x across cluster]")]
    # Lines that differ only in words with digits are the same kind: folded too.
    others = [line for line in lines if "other" in line]
    assert len(same) == 1 and len(folded) == 1 and len(lines) == 4, lines
    assert len(others) == 2 and others[1].endswith("[repeated 1x across cluster]"), lines


def test_folding_off(session, capsys, monkeypatch):
    monkeypatch.setenv("RAY_DEDUP_LOGS", "0")
    session()
    ray.get([say.remote("same text") for _ in range(10)])
    assert capsys.readouterr().out.count("same text\n") == 10


def test_log_to_driver_false(session, capfd):
    session(log_to_driver=False)
    ray.get([say.remote("hidden") for _ in range(4)])
    ray.shutdown()
    captured = capfd.readouterr()
    assert "hidden" not in captured.out + captured.err


def test_local_mode_prints_plainly(session, capsys):
    session(local_mode=True)
    assert ray.get(say.remote("in the driver")) == os.getpid()
    assert capsys.readouterr().out == "in the driver\n"
