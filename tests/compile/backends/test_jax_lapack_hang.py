"""The graphs that hung jaxlib 0.10's CPU runtime run 200 times each, every
call under a watchdog, on the jax release installed (the dependency range
allows only releases without the hang; see docs/jax-lapack-hang.md)."""

import subprocess
import sys
from pathlib import Path

import pytest

from _background import result
from tessera.compile.backends import get_backend

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "jax_lapack_hang.py"
CASES = ["pure", "wishart", "matrixnormal", "mvnormal-potri"]


def stress(case: str) -> subprocess.CompletedProcess:
    """The script's 200 calls of ``case`` (a background job:
    ``tests/_background.py``)."""
    cmd = [sys.executable, str(SCRIPT), "--cases", case, "--calls", "200"]
    # the watchdog in the script ends a hung call after 20 s (exit status 1,
    # every thread's stack on stderr); the timeout here is the last resort
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


@pytest.mark.background(job=stress)
@pytest.mark.parametrize("case", CASES)
def test_formerly_hanging_graphs_do_not_hang(case):
    assert get_backend("jax").problem() is None, "a jaxlib release known to hang"
    res = result(stress, case=case)
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"{case}: 200 calls, 0 hangs" in res.stdout
