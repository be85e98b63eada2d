"""Fixtures the Python package's test modules share."""

import pytest

import ray


@pytest.fixture(scope="module")
def ray_two_cpus():
    """One session of 2 CPUs for a whole test module, which asks for it with
    `pytestmark = pytest.mark.usefixtures("ray_two_cpus")`."""
    ray.init(num_cpus=2)
    yield
    ray.shutdown()
