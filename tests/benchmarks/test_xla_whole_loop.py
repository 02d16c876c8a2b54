"""benchmarks/xla_whole_loop.py: its reproduction compiles and runs with
XLA's default threshold (the check the script makes on a new jaxlib needs
a working baseline), in a fresh interpreter as the script runs it."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("jax")


def _load():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "xla_whole_loop.py"
    spec = importlib.util.spec_from_file_location("_bench_xla_whole_loop", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reproduction_compiles_with_xla_defaults():
    script = _load()
    assert script.case(6, None, 8, timeout=120).startswith("compiled in ")


def test_a_case_past_its_timeout_is_reported():
    script = _load()
    assert script.case(6, None, 8, timeout=0.01) == "did not compile within 0 s"
