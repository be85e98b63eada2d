"""Python functions that cross_language_test.cc calls with ray::PyFunction on other nodes."""

import os


def add(a, b):
    return a + b


def parent_pid():
    """The process that started this worker: a node's own process on other nodes."""
    return os.getppid()


def fail(message):
    raise ValueError(message)


class Tally:
    """A Python actor that cross_language_test.cc makes with ray::PyActorClass on other nodes."""

    def __init__(self, start):
        self.value = start

    def add(self, x):
        self.value += x
        return self.value

    def parent_pid(self):
        return os.getppid()
