"""LineFolder alone, on a clock the test moves: when lines are folded and counts printed."""

from ray._line_folder import LineFolder


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_windows():
    clock = Clock()
    folder = LineFolder(5, clock)
    first = folder.add(1, "(f pid=1) ", "loss 0.5 at step 10")
    assert first == [(1, "(f pid=1) loss 0.5 at step 10\n")]
    assert folder.add(1, "(f pid=2) ", "loss 0.4 at step 20") == []  # same words but numbers
    assert folder.add(2, "(f pid=2) ", "loss 0.4 at step 20") != []  # stderr: its own kind
    assert folder.add(1, "(f pid=3) ", "123") == [(1, "(f pid=3) 123\n")]  # never folded
    assert folder.add(1, "(f pid=3) ", "123") == [(1, "(f pid=3) 123\n")]
    assert folder.next_deadline() == 5
    clock.now = 4.9
    assert folder.expire() == []
    clock.now = 5
    assert folder.expire() == [
        (1, "(f pid=2) loss 0.4 at step 20 [repeated 1x across cluster]\n")]
    assert folder.next_deadline() is None
    # After its window, a line starts a new one; a line seen once prints no count.
    assert folder.add(1, "(f pid=1) ", "loss 0.3 at step 30") != []
    assert folder.expire(everything=True) == []
