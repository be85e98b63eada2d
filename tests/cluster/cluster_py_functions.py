"""Python functions that cross_language_test.cc calls with ray::PyFunction on other nodes."""

import os


def add(a, b):
    return a + b


def parent_pid():
    """The process that started this worker: a node's own process on other nodes."""
    return os.getppid()


def fail(message):
    raise ValueError(message)
