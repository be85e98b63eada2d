"""Python functions that tests/python_embed/py_function_test.cc calls with ray::PyFunction."""

import os
import threading
import time

calls = 0
ticks = 0


def add(a, b):
    return a + b


def scale(values, factor):
    return [v * factor for v in values]


def greet(name):
    return "hello " + name


def count_words(text):
    counts = {}
    for word in text.split():
        counts[word] = counts.get(word, 0) + 1
    return counts


def negate(flag):
    return not flag


def type_of(value):
    return type(value).__name__


def echo(value):
    return value


def pair():
    return 1, "one"


def nothing():
    print("printed by a Python function")


class CustomError(Exception):
    pass


def fail(message):
    raise ValueError(message)


def fail_custom():
    raise CustomError("custom failure")


def wrong_type():
    return "not a number"


def unconvertible():
    return {1, 2}


not_callable = 5


def count_calls():
    """How many times this worker's interpreter has run it: the interpreter is started once."""
    global calls
    calls += 1
    return calls


def pid():
    return os.getpid()


def start_ticker():
    """A thread that counts while no call runs: it only can if the GIL is released between calls."""
    def tick():
        global ticks
        while True:
            ticks += 1
            time.sleep(0.001)

    threading.Thread(target=tick, daemon=True).start()


def tick_count():
    return ticks
