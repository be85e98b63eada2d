"""ray.visualize_computation_graph and ray.timeline from Python."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import ray


def run_driver(code, tmp_path, env=None):
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env={**os.environ, **(env or {})})


GRAPH_DRIVER = """
    import ray
    ray.init(num_cpus=2)

    @ray.remote
    def add(a, b):
        return a + b

    @ray.remote
    def fail():
        raise ValueError("no")

    @ray.remote
    def run_experiment(n):
        return ray.get([add.remote(i, 1) for i in range(n)])

    x = ray.put(5)
    ray.get(add.remote(x, 1))
    ray.get(run_experiment.remote(3))
    try:
        ray.get(fail.remote())
    except ValueError:
        pass
    print(ray.visualize_computation_graph("graph.dot"))
    print(ray.visualize_computation_graph(view=True))
    ray.timeline("timeline.json")
    print(len(ray.timeline()))
"""


def test_graph_names_python_functions_and_hides_their_pickles(tmp_path):
    done = run_driver(GRAPH_DRIVER, tmp_path, env={"DISPLAY": ""})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "graph.dot"
    dot = (tmp_path / "graph.dot").read_text()
    labels = [line for line in dot.splitlines() if "shape=box" in line]
    names = [line.split('label="')[1].split("\\n")[0].split('"')[0] for line in labels]
    assert names.count("op-root") == 1
    assert names.count("add") == 4 and names.count("run_experiment") == 1
    assert names.count("fail") == 1
    assert "RayPythonTask" not in dot
    assert "#ff8080" in next(line for line in labels if 'label="fail' in line)  # red
    # Objects: the put of 5 and the tasks' returns only, not the pickled functions.
    ovals = [line for line in dot.splitlines() if "shape=ellipse" in line]
    assert len(ovals) == 1 + 4 + 1 + 1
    assert sum("put" in line for line in ovals) == 1
    # view=True without a display prints where the picture is.
    svg = lines[2]
    assert lines[1] == f"computation graph: {svg}" and svg.endswith(".svg")
    assert open(svg).read().lstrip().startswith("<?xml")
    os.unlink(svg)
    events = json.loads((tmp_path / "timeline.json").read_text())["traceEvents"]
    slices = [e for e in events if e.get("ph") == "X"]
    assert sorted(e["name"] for e in slices).count("add") == 4
    assert int(lines[3]) == len(events)


def test_graph_needs_init_and_a_writable_path(tmp_path):
    with pytest.raises(ray.exceptions.RayError, match="not initialized"):
        ray.visualize_computation_graph(str(tmp_path / "g.dot"))
    ray.init(num_cpus=1)
    try:
        with pytest.raises(ray.exceptions.RayError, match="visualize_computation_graph"):
            ray.visualize_computation_graph(str(tmp_path / "missing-dir" / "g.dot"))
    finally:
        ray.shutdown()


def test_the_graph_keeps_at_most_max_recorded_tasks_and_says_what_it_left_out(tmp_path):
    ray.init(num_cpus=1, _max_recorded_tasks=3)
    try:
        f = ray.remote(lambda i: i)
        assert ray.get([f.remote(i) for i in range(5)]) == list(range(5))
        note = "not recorded, past the recorder's limit: 2 more tasks, 0 more puts"
        ray.visualize_computation_graph(str(tmp_path / "g.dot"))
        assert note in (tmp_path / "g.dot").read_text()
        events = ray.timeline()
        assert sum(e["ph"] == "X" for e in events) == 3
        assert [e["name"] for e in events if e["ph"] == "i"] == [note]
    finally:
        ray.shutdown()
    with pytest.raises(ValueError, match="_max_recorded_tasks"):
        ray.init(_max_recorded_tasks=0)


def test_record_task_graph_false_records_nothing(tmp_path):
    ray.init(num_cpus=1, _record_task_graph=False)
    try:
        assert ray.get(ray.remote(lambda: 1).remote()) == 1
        with pytest.raises(ray.exceptions.RayError, match=r"_record_task_graph=False"):
            ray.timeline()
        with pytest.raises(ray.exceptions.RayError, match=r"_record_task_graph=False"):
            ray.visualize_computation_graph(str(tmp_path / "g.dot"))
    finally:
        ray.shutdown()
