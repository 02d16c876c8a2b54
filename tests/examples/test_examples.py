"""Every example script runs to completion at its small size and its check passes.

Each script runs in its own interpreter (as a user would run it, in the
background while the suite goes on: ``tests/_background.py``), with
``TESSERA_EXAMPLE_SMALL=1`` and a temporary working folder, and must print
``CHECK PASSED``: its own comparison against the true values of its
synthetic data, or against a NumPy/SciPy reference.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from _background import result

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# script, files it must leave in the working folder
CASES = [
    ("quickstart.py", ["quickstart_posteriors.png"]),
    ("batched_linalg.py", []),
    ("matrix_normal.py", []),
    ("minibatch_regression.py", []),
    ("hierarchical.py", []),
    ("stochastic_volatility.py", ["stochastic_volatility.png"]),
    ("many_models.py", ["many_models_sbc.png"]),
]


def test_every_example_is_listed():
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert scripts == sorted(name for name, _ in CASES)


def run_example(script: str) -> tuple[subprocess.CompletedProcess, Path]:
    """Run ``script`` at its small size in a fresh interpreter and a new
    working folder (a background job: ``tests/_background.py``)."""
    cwd = Path(tempfile.mkdtemp(prefix=f"example-{Path(script).stem}-"))
    env = dict(os.environ, TESSERA_EXAMPLE_SMALL="1", MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, cwd


@pytest.mark.slow
@pytest.mark.background(job=run_example)
@pytest.mark.parametrize(("script", "outputs"), CASES, ids=[c[0] for c in CASES])
def test_example_runs_small(script, outputs):
    proc, cwd = result(run_example, script=script)
    try:
        report = f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
        assert proc.returncode == 0, report
        assert "CHECK PASSED" in proc.stdout, report
        for name in outputs:
            path = cwd / name
            assert path.is_file() and path.stat().st_size > 10_000, f"{name} missing"
    finally:
        shutil.rmtree(cwd, ignore_errors=True)
