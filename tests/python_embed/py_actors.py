"""Python classes that tests/python_embed/py_actor_test.cc makes actors of with ray::PyActorClass."""

import asyncio
import os


class Counter:
    def __init__(self, start, goodbye_path=""):
        self.value = start
        self.goodbye_path = goodbye_path

    def add(self, x):
        self.value += x
        return self.value

    def get(self):
        return self.value

    def add_or_raise(self, x):
        if x < 0:
            raise ValueError(f"negative: {x}")
        return self.add(x)

    def raise_file_name(self):
        # os.fsdecode of a name that is not UTF-8 carries a lone surrogate ("\udce9").
        raise ValueError(f"cannot parse {os.fsdecode(b'caf' + bytes([0xE9]) + b'.txt')}")

    async def add_later(self, x):
        await asyncio.sleep(0.001)
        if x < 0:
            raise ValueError(f"negative later: {x}")
        return self.add(x)

    async def loop_id(self):
        return id(asyncio.get_running_loop())

    def describe(self, label):
        return label + "=" + str(self.value)

    def split(self):
        return self.value // 10, str(self.value % 10)

    def pid(self):
        return os.getpid()

    def reset(self):
        self.value = 0

    not_callable = 7

    def __del__(self):
        if self.goodbye_path:
            with open(self.goodbye_path + ".tmp", "w") as f:
                f.write(f"value {self.value}")
            os.rename(self.goodbye_path + ".tmp", self.goodbye_path)


class Failing:
    def __init__(self):
        raise RuntimeError("no counter today")


not_a_class = 3
