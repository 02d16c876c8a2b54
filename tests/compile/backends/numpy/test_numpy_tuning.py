"""The crossover table: every entry documented and re-measured by
``benchmarks/crossovers.py``, and the rules the kernels read agree with it."""

import importlib.util
from pathlib import Path

from tessera.compile.backends.numpy import tuning

ROOT = Path(__file__).resolve().parents[4]


def _crossovers_script(monkeypatch):
    # the script imports its sibling ``benchmarks._util``: put the repository
    # root on the path, as running it from there does
    monkeypatch.syspath_prepend(str(ROOT))
    path = ROOT / "benchmarks" / "crossovers.py"
    spec = importlib.util.spec_from_file_location("_bench_crossovers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_crossover_is_documented_and_measured(monkeypatch):
    script = _crossovers_script(monkeypatch)
    assert set(script.MEASURE) == set(tuning.CROSSOVERS)
    for name, entry in tuning.CROSSOVERS.items():
        assert entry.command == f"python benchmarks/crossovers.py --only {name}"
        assert entry.chooses and entry.measured and entry.value is not None


def test_threshold_entries_are_the_values_the_kernels_read():
    table = tuning.CROSSOVERS
    assert table["cholesky_loop_min_n"].value == tuning.CHOLESKY_LOOP_MIN_N
    assert table["pullback_blocked_min_n"].value == tuning.PULLBACK_BLOCKED_MIN_N
    assert table["potri_max_n"].value == tuning.POTRI_MAX_N
    assert table["min_reuse_size"].value == tuning.MIN_REUSE_SIZE


def test_rules_pick_the_measured_sides():
    # the ends of each measured range, where the measurements are clear
    assert not tuning.trsm_loop_wins(4096, 8, 1) and tuning.trsm_loop_wins(1, 256, 1)
    assert tuning.trsm_loop_wins(16, 256, 256) and not tuning.trsm_loop_wins(4096, 8, 8)
    assert tuning.pullback_loop_wins(64, 64) and not tuning.pullback_loop_wins(4096, 8)
    assert tuning.cholesky_inverse_loop_wins(16, 8)
    assert not tuning.cholesky_inverse_loop_wins(4096, 8)
    assert tuning.lu_loop_wins(1, 8) and not tuning.lu_loop_wins(4096, 4)
    assert tuning.expm_scipy_wins(1, 64) and not tuning.expm_scipy_wins(4096, 8)
