"""ray.util.ActorPool: a pool of actors works through values, each call on a free actor; map
keeps the values' order, map_unordered yields as calls finish, submissions beyond the free
actors wait for one, and actors can be taken out and put back."""
import os
import time

import pytest

import ray
from ray.util import ActorPool


@pytest.fixture(autouse=True)
def session():
    ray.init(num_cpus=2)
    yield
    ray.shutdown()


@ray.remote
class Doubler:
    def double(self, n):
        return n * 2

    def pid(self):
        return os.getpid()

    def wait_for(self, path):
        while not os.path.exists(path):
            time.sleep(0.01)  # a pause between looks
        return path


def test_map_keeps_the_order_and_uses_every_actor():
    actors = [Doubler.remote(), Doubler.remote()]
    pool = ActorPool(actors)
    assert list(pool.map(lambda a, v: a.double.remote(v), range(20))) == [2 * v for v in range(20)]
    pids = set(pool.map(lambda a, _: a.pid.remote(), range(10)))
    assert pids == set(ray.get([a.pid.remote() for a in actors]))


def test_map_unordered_yields_every_result():
    pool = ActorPool([Doubler.remote(), Doubler.remote()])
    assert sorted(pool.map_unordered(lambda a, v: a.double.remote(v), [3, 1, 2])) == [2, 4, 6]


def test_submissions_wait_for_a_free_actor(tmp_path):
    pool = ActorPool([Doubler.remote()])
    release = str(tmp_path / "release")
    pool.submit(lambda a, p: a.wait_for.remote(p), release)
    pool.submit(lambda a, v: a.double.remote(v), 21)  # waits: the one actor is busy
    assert not pool.has_free()
    with pytest.raises(TimeoutError):
        pool.get_next(timeout=0.1)  # the first call cannot finish before the file exists
    open(release, "w").close()
    assert pool.get_next() == release
    assert pool.get_next() == 42
    assert not pool.has_next()
    with pytest.raises(StopIteration):
        pool.get_next()


def test_actors_are_taken_out_and_put_back():
    a, b = Doubler.remote(), Doubler.remote()
    pool = ActorPool([a])
    assert pool.has_free()
    taken = pool.pop_idle()
    assert taken is a and not pool.has_free() and pool.pop_idle() is None
    pool.push(b)
    with pytest.raises(ValueError, match="already belongs"):
        pool.push(b)
    pool.submit(lambda actor, v: actor.double.remote(v), 5)
    assert pool.get_next_unordered() == 10


def test_an_fn_that_raises_leaves_its_actor_free():
    pool = ActorPool([Doubler.remote()])
    with pytest.raises(AttributeError, match="no_such_method"):
        pool.submit(lambda a, v: a.no_such_method.remote(v), 1)
    assert pool.has_free()
    assert list(pool.map(lambda a, v: a.double.remote(v), [1, 2, 3])) == [2, 4, 6]


def test_a_pool_without_actors_refuses_work():
    with pytest.raises(ValueError, match="no actors"):
        list(ActorPool([]).map(lambda a, v: a.double.remote(v), [1, 2, 3]))
    pool = ActorPool([Doubler.remote()])
    pool.pop_idle()
    with pytest.raises(ValueError, match="no actors"):
        pool.submit(lambda a, v: a.double.remote(v), 1)


def test_handles_of_one_actor_are_equal_and_the_pool_takes_it_once():
    a, b = Doubler.remote(), Doubler.remote()
    copy = ray.get(ray.put(a))
    assert copy == a and hash(copy) == hash(a) and copy != b and a != "a"
    assert len({a, copy, b}) == 2
    pool = ActorPool([a])
    with pytest.raises(ValueError, match="already belongs"):
        pool.push(copy)
