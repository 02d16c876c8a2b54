"""benchmarks/xla_whole_loop.py: its reproduction compiles and runs with
XLA's default threshold (the check the script makes on a new jaxlib needs
a working baseline), in a fresh interpreter as the script runs it."""

import pytest

from _scripts import load_script

pytest.importorskip("jax")


def _load():
    return load_script("xla_whole_loop")


def test_the_reproduction_compiles_with_xla_defaults():
    script = _load()
    assert script.case(6, None, 8, timeout=120).startswith("compiled in ")


def test_a_case_past_its_timeout_is_reported():
    script = _load()
    assert script.case(6, None, 8, timeout=0.01) == "did not compile within 0 s"
