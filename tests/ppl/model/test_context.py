"""Tests for tessera.ppl.model.context: the model stack."""

from __future__ import annotations

import pytest

from tessera import ppl
from tessera.ppl.model.context import modelcontext, modelcontext_or_none


def test_enter_makes_the_model_current_and_exit_restores():
    assert modelcontext_or_none() is None
    with ppl.Model() as m:
        assert modelcontext() is m
        assert modelcontext_or_none() is m
    assert modelcontext_or_none() is None


def test_no_model_is_an_error_naming_the_fix():
    with pytest.raises(TypeError, match=r"with ppl.Model\(\)"):
        modelcontext()


def test_explicit_model_wins_and_must_be_a_model():
    m = ppl.Model()
    assert modelcontext(m) is m
    with pytest.raises(TypeError, match="expected a ppl.Model"):
        modelcontext("model")


def test_nested_models_are_refused():
    with ppl.Model():
        with pytest.raises(RuntimeError, match="nested model"):
            with ppl.Model():
                pass


def test_exception_inside_the_block_pops_the_model():
    with pytest.raises(ZeroDivisionError):
        with ppl.Model():
            1 / 0
    assert modelcontext_or_none() is None


def test_reentering_the_same_model_adds_variables():
    m = ppl.Model()
    with m:
        ppl.Normal("a", 0.0, 1.0)
    with m:
        ppl.Normal("b", 0.0, 1.0)
    assert list(m.named_vars) == ["a", "b"]
