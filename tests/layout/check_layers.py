#!/usr/bin/env python3
"""Checks that ray/ keeps the layout of docs/ARCHITECTURE.md: every file belongs to a component
(a folder under ray/), a component includes only itself and the components below it, and no
file is longer than MAX_LINES.

Prints every include that goes upward or sideways (a cycle needs one) and every file too long,
and exits 1 if there is any. Usage: check_layers.py [ROOT] (default: the current directory)."""

import pathlib
import re
import sys

# Each component and the components it may include (besides itself), bottom to top. A
# component may include what those include in turn: the closure is computed below.
LAYERS = {
    "common": [],
    "faults": [],
    "object": ["common"],
    "function": ["common"],
    "observability": ["common"],
    "rpc": ["common", "faults", "function"],
    "store": ["common", "faults"],
    "cluster": ["common", "rpc"],
    "object_manager": ["common", "faults", "rpc", "store", "cluster"],
    "node": ["common", "object", "function", "observability", "rpc", "store"],
    "core_worker": ["common", "object", "function", "observability", "rpc", "store", "node",
                    "cluster", "object_manager"],
    "python_embed": ["core_worker"],
    "api": ["core_worker", "python_embed"],
    "cli": ["cluster", "core_worker", "object_manager"],
}
# Files at the top of ray/ (ray/api.h) belong to the API.
TOP_LEVEL = "api"

# One concept per file: a file past this is to be split.
MAX_LINES = 600

INCLUDE = re.compile(r'^\s*#\s*include\s+"ray/([^"]+)"', re.MULTILINE)


def closure():
    allowed = {}

    def visit(name, seen):
        for dep in LAYERS[name]:
            if dep not in seen:
                seen.add(dep)
                visit(dep, seen)
        return seen

    for name in LAYERS:
        allowed[name] = visit(name, {name})
    return allowed


def component_of(relative):
    """The component of a path relative to ray/ ("core_worker/driver.cc"), or None."""
    parts = relative.split("/")
    if len(parts) == 1:
        return TOP_LEVEL
    return parts[0] if parts[0] in LAYERS else None


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    ray = root / "ray"
    allowed = closure()
    problems = []
    for path in sorted(ray.rglob("*")):
        if path.suffix not in (".h", ".cc", ".capnp") or not path.is_file():
            continue
        relative = path.relative_to(ray).as_posix()
        source = component_of(relative)
        if source is None:
            problems.append(f"ray/{relative}: not in a component of the layout")
            continue
        text = path.read_text(errors="replace")
        lines = text.count("\n")
        if lines > MAX_LINES:
            problems.append(f"ray/{relative}: {lines} lines, more than {MAX_LINES}")
        for target_path in INCLUDE.findall(text):
            target = component_of(target_path)
            if target is None:
                problems.append(f"ray/{relative}: includes ray/{target_path}, not a component")
            elif target not in allowed[source]:
                problems.append(
                    f"ray/{relative}: {source} includes ray/{target_path} ({target} is not "
                    f"below {source})")
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problems with the layout (see docs/ARCHITECTURE.md)")
        return 1
    print(f"layout: every include goes down, no file over {MAX_LINES} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
