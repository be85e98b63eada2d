"""An object whose maker died before it reached the store: ray.get raises
ray.exceptions.ObjectLostError at once, instead of waiting out its timeout. The fault seam
(RAY_TESTING_FAULTS, read at process start) keeps the result's seal from reaching the store."""

import os
import subprocess
import sys
import textwrap


def test_get_of_a_result_whose_worker_died_before_sealing_it(tmp_path):
    script = tmp_path / "lost.py"
    script.write_text(textwrap.dedent("""
        import os, signal, time
        import numpy as np
        import ray
        from ray.exceptions import ObjectLostError

        ray.init(num_cpus=1)

        @ray.remote(num_returns=2)
        def make():
            return os.getpid(), np.zeros(1 << 20)

        pid_ref, array_ref = make.remote()
        pid = ray.get(pid_ref, timeout=60)
        ready, _ = ray.wait([array_ref], timeout=60)  # done, as far as the scheduler knows
        assert ready == [array_ref]
        os.kill(pid, signal.SIGKILL)
        start = time.monotonic()
        try:
            ray.get(array_ref, timeout=120)
            print("got a value")
        except ObjectLostError as e:
            print(f"lost after {time.monotonic() - start:.0f} s: {e}")
        assert ray.get(make.remote()[0], timeout=60) != pid  # the node goes on
    """))
    env = dict(os.environ, RAY_TESTING_FAULTS="store.seal=stall@1")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "lost after" in out.stdout, out.stdout + out.stderr
    assert "no longer in the node's store" in out.stdout
