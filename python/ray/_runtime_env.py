"""ray.init(runtime_env=...): what the job's workers get.

- env_vars: set in the environment of the workers (not the driver's): ray.init sets them only
  while it forks the zygote, whose copies of it the workers are.
- working_dir: the folder is copied into the session folder at ray.init (a snapshot: later
  changes do not reach the workers; the copy goes with the session), and a worker runs its
  tasks in that copy (current directory, and first on sys.path), so its files are readable
  and its modules importable.
"""

import contextlib
import os
import shutil
import sys

_SUPPORTED = ("env_vars", "working_dir")


def validate(runtime_env):
    """runtime_env as {"env_vars": {str: str}, "working_dir": absolute path or None}; a
    TypeError or ValueError naming what cannot be honoured."""
    if runtime_env is None:
        return {"env_vars": {}, "working_dir": None}
    if not isinstance(runtime_env, dict):
        raise TypeError(f"ray.init: runtime_env must be a dict, got {type(runtime_env).__name__}")
    unsupported = sorted(set(runtime_env) - set(_SUPPORTED))
    if unsupported:
        raise ValueError(f"ray.init: runtime_env {', '.join(map(repr, unsupported))} is not "
                         f"supported (only {' and '.join(map(repr, _SUPPORTED))})")
    env_vars = runtime_env.get("env_vars") or {}
    if not isinstance(env_vars, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env_vars.items()):
        raise TypeError("ray.init: runtime_env['env_vars'] must be a dict of str to str")
    working_dir = runtime_env.get("working_dir")
    if working_dir is not None:
        if not isinstance(working_dir, (str, os.PathLike)):
            raise TypeError("ray.init: runtime_env['working_dir'] must be a path")
        working_dir = os.path.abspath(os.fspath(working_dir))
        if not os.path.isdir(working_dir):
            raise ValueError(f"ray.init: runtime_env['working_dir'] is not a folder: "
                             f"{working_dir} (archives and remote URIs are not supported)")
    return {"env_vars": dict(env_vars), "working_dir": working_dir}


@contextlib.contextmanager
def environment(env_vars):
    """os.environ with env_vars set, restored on exit."""
    saved = {name: os.environ.get(name) for name in env_vars}
    os.environ.update(env_vars)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def snapshot(working_dir, session_dir):
    """Copies working_dir into the session folder; returns the copy's path."""
    copy = os.path.join(session_dir, "working_dir")
    shutil.copytree(working_dir, copy, symlinks=True)
    return copy


_entered = None  # the working_dir copy this worker runs in


def entered():
    """The working_dir copy this worker runs its tasks in (None if none): the tasks it
    submits run there too."""
    return _entered


def enter(working_dir):
    """In a worker, before a task of the job runs: runs in working_dir (once per process)."""
    global _entered
    if working_dir and working_dir != _entered:
        os.chdir(working_dir)
        sys.path.insert(0, working_dir)
        _entered = working_dir
