"""C++ actors made from Python: ray.cpp_actor_class over the RAY_REMOTE'd factories and methods
of libcpp_actors.so (cpp_actors.cc), loaded with ray.init(code_search_path=[...])."""

import os

import pytest

import ray
from process_waits import ends_within, wait_for_file
from ray.exceptions import ActorDiedError, RayActorError, RayTaskError


def _library():
    """libcpp_actors.so: in the test's runfiles, or bazel-bin by hand."""
    for folder in ("tests/python", "bazel-bin/tests/python"):
        path = os.path.join(folder, "libcpp_actors.so")
        if os.path.exists(path):
            return os.path.abspath(path)
    pytest.fail("libcpp_actors.so not found: bazel build //tests/python:libcpp_actors.so")


@pytest.fixture(scope="module", autouse=True)
def ray_with_cpp():
    ray.init(num_cpus=2, code_search_path=[_library()])
    yield
    ray.shutdown()


Counter = ray.cpp_actor_class("CreateCounter", "Counter")


@ray.remote
def add_through(counter, x):
    return ray.get(counter.Add.remote(x))


@ray.remote
def make_counter(start):
    return Counter.remote(start)


@ray.remote
class Relay:
    """A Python actor that calls a C++ actor through the handle it was made with."""

    def __init__(self, target):
        self.target = target

    def add(self, x):
        return ray.get(self.target.Add.remote(x))


def _wait_for_file(path):
    """The file's text once it exists (written whole, by a rename)."""
    wait_for_file(path)
    return path.read_text()


def test_methods_keep_the_actors_state_in_a_process_of_its_own():
    c = Counter.remote(10)
    assert ray.get(c.Add.remote(5)) == 15
    assert ray.get(c.Value.remote()) == 15
    assert ray.get(c.Describe.remote("v")) == "v=15"
    assert ray.get(c.Scaled.remote([1.0, 2.5])) == [15.0, 37.5]
    tens, ones = c.Split.remote()
    assert ray.get([tens, ones]) == [1, "5"]
    assert ray.get(c.Reset.remote()) is None
    assert ray.get(c.Value.remote()) == 0
    pid = ray.get(c.Pid.remote())
    assert pid != os.getpid() and ray.get(c.Pid.remote()) == pid
    other = Counter.remote(100)
    assert ray.get(other.Add.remote(1)) == 101
    assert ray.get(other.Pid.remote()) != pid
    assert ray.get(c.Value.remote()) == 0


def test_calls_run_in_the_order_submitted():
    c = Counter.remote(0)
    refs = [c.Add.remote(i) for i in range(1, 1001)]
    got = ray.get(refs)
    assert got == [i * (i + 1) // 2 for i in range(1, 1001)]


def test_virtual_methods_and_unique_ptr_factories():
    loud = ray.cpp_actor_class("CreateLoud", "Counter").remote(1, "")
    assert ray.get(loud.Kind.remote()) == "loud"  # a virtual method, on the derived class
    assert ray.get(loud.Add.remote(2)) == 3
    assert ray.get(Counter.remote(0).Kind.remote()) == "counter"


def test_an_exception_fails_its_call_and_keeps_the_state():
    c = Counter.remote(5)
    with pytest.raises(RayTaskError) as info:
        ray.get(c.AddOrThrow.remote(-1))
    assert info.value.exception_type == "std::invalid_argument"
    assert "negative: -1" in str(info.value)
    # Arguments C++ cannot read fail the call too, and the actor goes on.
    with pytest.raises(RayTaskError, match="argument 0"):
        ray.get(c.Add.remote("five"))
    assert ray.get(c.AddOrThrow.remote(2)) == 7


def test_wrong_names_and_arguments_are_clear_errors_at_the_call():
    c = Counter.remote(0)
    with pytest.raises(AttributeError, match="no method \"Nope\".*registered methods: .*Add"):
        c.Nope
    with pytest.raises(TypeError, match="takes 1 argument, 2 given"):
        c.Add.remote(1, 2)
    with pytest.raises(TypeError, match="positional arguments only"):
        c.Add.remote(x=1)
    with pytest.raises(TypeError, match="cannot be called directly"):
        c.Add(1)
    with pytest.raises(ValueError, match=r'no C\+\+ function named "NoSuchFactory"'):
        ray.cpp_actor_class("NoSuchFactory", "Counter").remote()
    with pytest.raises(ValueError, match="not an actor's factory"):
        ray.cpp_actor_class("NotAFactory", "Counter").remote(1)
    with pytest.raises(ValueError, match="makes a Other, not a Counter"):
        ray.cpp_actor_class("CreateOther", "Counter").remote()
    with pytest.raises(TypeError, match="takes 1 argument, 0 given"):
        Counter.remote()
    with pytest.raises(TypeError, match=r'"CreateCounter", ...\).remote: argument 0') as info:
        Counter.remote({1})
    assert ".remote.remote" not in str(info.value)
    with pytest.raises(ValueError, match='"CreateCounter\x00junk"'):  # all of it, NUL too
        ray.cpp_actor_class("CreateCounter\x00junk", "Counter").remote(1)
    with pytest.raises(ValueError, match="is the factory of actor class Counter"):
        ray.cpp_function("CreateCounter").remote(1)
    with pytest.raises(ValueError, match="is a method"):
        ray.cpp_function("Counter::Add").remote(1)
    with pytest.raises(ValueError, match="max_restarts"):
        Counter.options(max_restarts=-2).remote(1)
    assert ray.get(c.Add.remote(1)) == 1  # the actor is fine


def test_a_factory_that_throws_fails_the_calls_saying_why():
    broken = ray.cpp_actor_class("FailToCreate", "Counter").remote()
    with pytest.raises(ActorDiedError) as info:
        ray.get(broken.Value.remote())
    assert isinstance(info.value, RayActorError)
    assert "factory failed: std::runtime_error: no counter today" in str(info.value)


def test_kill_ends_the_actors_process():
    c = Counter.remote(1)
    pid = ray.get(c.Pid.remote())
    ray.kill(c)
    with pytest.raises(ActorDiedError, match="killed"):
        ray.get(c.Value.remote())
    assert ends_within(pid)


def test_the_destructor_runs_when_the_last_handle_is_gone(tmp_path):
    goodbye = tmp_path / "goodbye"
    c = ray.cpp_actor_class("CreateLoud", "Counter").remote(1, str(goodbye))
    assert ray.get(c.Add.remote(41)) == 42
    del c
    assert _wait_for_file(goodbye) == "value 42"


def test_exit_actor_inside_a_method_ends_it_and_its_destructor_runs(tmp_path):
    goodbye = tmp_path / "goodbye"
    c = ray.cpp_actor_class("CreateLoud", "Counter").remote(7, str(goodbye))
    pid = ray.get(c.Pid.remote())
    with pytest.raises(ActorDiedError, match="exited"):
        ray.get(c.Exit.remote())
    with pytest.raises(ActorDiedError):
        ray.get(c.Value.remote())
    assert _wait_for_file(goodbye) == "value 7"
    assert ends_within(pid)


def test_handles_travel_into_and_out_of_tasks():
    c = Counter.remote(1)
    assert ray.get(add_through.remote(c, 2)) == 3
    made = ray.get(make_counter.remote(40))
    assert ray.get(made.Add.remote(2)) == 42
    assert ray.get(ray.get(ray.put(made)).Value.remote()) == 42
    assert ray.get(c.Value.remote()) == 3
    relay = Relay.remote(c)
    assert ray.get(relay.add.remote(4)) == 7
    assert ray.get(c.Value.remote()) == 7


def test_handles_travel_into_cpp_functions_and_methods():
    c = Counter.remote(1)
    assert ray.get(ray.cpp_function("AddThrough").remote(c, 2)) == 3
    other = Counter.remote(10)
    assert ray.get(other.AddFrom.remote(c)) == 13
    # A handle of another class is a type error on the C++ side.
    with pytest.raises(RayTaskError, match="argument 0"):
        ray.get(ray.cpp_function("AddThrough").remote(ray.cpp_actor_class("CreateOther",
                                                                          "Other").remote(), 1))
    # The call keeps the actor alive though the caller drops its last handle at once.
    made = Counter.remote(5)
    assert ray.get(made.Value.remote()) == 5
    ref = ray.cpp_function("AddThrough").remote(made, 1)
    del made
    assert ray.get(ref) == 6


def test_named_and_restarted_actors():
    c = Counter.options(name="cpp-tally", max_restarts=1).remote(10)
    assert ray.get(c.Add.remote(5)) == 15
    with pytest.raises(ValueError, match="already taken"):
        Counter.options(name="cpp-tally").remote(1)
    assert ray.get(ray.get_actor("cpp-tally").Add.remote(1)) == 16
    again = Counter.options(name="cpp-tally", get_if_exists=True).remote(0)  # the same actor
    assert ray.get(again.Add.remote(0)) == 16
    with pytest.raises(ValueError, match="already taken by an actor alive in this session "
                                         r"\(a Counter\)"):
        ray.cpp_actor_class("CreateOther", "Other").options(name="cpp-tally",
                                                            get_if_exists=True).remote()
    # C++ finds it by name, as a ray::ActorHandle<Counter>, and calls it with &Counter::Add.
    assert ray.get(ray.cpp_function("AddToNamed").remote("cpp-tally", 1)) == 17
    assert ray.get(ray.cpp_function("AddToNamed").remote("nobody", 1)) == -1
    pid = ray.get(c.Pid.remote())
    assert ray.get(c.Restarted.remote()) is False
    ray.kill(c, no_restart=False)
    assert ray.get(c.Value.remote()) == 10  # the factory ran again
    assert ray.get(c.Pid.remote()) != pid
    assert ray.get(c.Restarted.remote()) is True


def test_handles_of_one_actor_are_equal():
    c, other = Counter.remote(0), Counter.remote(0)
    copy = ray.get(ray.put(c))
    assert copy == c and hash(copy) == hash(c) and copy != other
    assert len({c, copy, other}) == 2


def test_bad_names_and_kill_arguments_are_clear_errors():
    c = Counter.remote(0)
    with pytest.raises(TypeError, match="ray.get_actor: name must be a str, got NoneType"):
        ray.get_actor(None)
    with pytest.raises(TypeError, match="ray.get_actor: name must be a str, got int"):
        ray.get_actor(5)
    with pytest.raises(ValueError, match="ray.get_actor: name '.ud800' is not valid UTF-8"):
        ray.get_actor("\ud800")
    with pytest.raises(TypeError, match="no_restart must be a bool, got str"):
        ray.kill(c, no_restart="x")
    with pytest.raises(ValueError, match="factory '.ud800' is not valid UTF-8"):
        ray.cpp_actor_class("\ud800", "Counter")
    with pytest.raises(ValueError, match="class name '.ud800' is not valid UTF-8"):
        ray.cpp_actor_class("CreateCounter", "\ud800")
    with pytest.raises(ValueError, match="name '.ud800' is not valid UTF-8"):
        Counter.options(name="\ud800").remote(1)
    with pytest.raises(AttributeError, match="has no method"):
        getattr(c, "\ud800")
    assert ray.get(c.Add.remote(1)) == 1  # the actor is fine
