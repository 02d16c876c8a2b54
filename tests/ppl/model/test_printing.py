"""Tests for tessera.ppl.model.printing: the model summary."""

from __future__ import annotations

import numpy as np

from tessera import ppl


def test_each_variable_is_listed_with_distribution_dims_and_shape():
    with ppl.Model(coords={"g": ["a", "b"], "t": range(3)}) as m:
        x = ppl.Data("x", np.zeros(2), dims="g")
        mu = ppl.Normal("mu", 0.0, 10.0, dims=("g", "t"))
        s = ppl.HalfNormal("s", 2.5)
        ppl.Deterministic("d", mu * s)
        ppl.Potential("pot", -(s**2))
        ppl.Normal("y", mu.sum(axis=1) + x, s, observed=np.zeros(2), dims="g")
        ppl.MvNormal("z", np.zeros(2), np.eye(2), shape=(4, 2))
    lines = str(m).splitlines()
    assert repr(m) == str(m)
    assert len(lines) == 7
    table = {line.split("~")[0].strip(): line.split("~")[1].split() for line in lines}
    assert table["x"] == ["Data", "dims=(g,)", "shape=(2,)"]
    assert table["mu"] == ["Normal(0,", "10)", "dims=(g,", "t)", "shape=(2,", "3)"]
    assert table["s"] == ["HalfNormal(2.5)", "shape=()"]
    assert table["d"] == ["Deterministic(f(mu,", "s))", "shape=(2,", "3)"]
    assert table["pot"] == ["Potential(f(s))", "shape=()"]
    assert table["y"] == [
        "Normal(f(mu,",
        "x),",
        "s)",
        "dims=(g,)",
        "shape=(2,)",
        "observed",
    ]
    assert table["z"][0] == "MvNormal([0,"
    assert table["z"][-2:] == ["shape=(4,", "2)"]
    # columns are aligned: every '~' at the same position
    assert len({line.index("~") for line in lines}) == 1


def test_unknown_static_sizes_and_large_constants():
    with ppl.Model() as m:
        yd = ppl.Data("yd", np.zeros(3))
        ppl.Normal("w", np.arange(10.0), 1.0)
        ppl.Normal("y", 0.0, 1.0, observed=yd)
    text = str(m)
    assert "Normal(<array (10,)>, 1)" in text
    assert "y ~ Normal(0, 1)" in text and "shape=(3,) observed" in text


def test_empty_model():
    assert str(ppl.Model()) == "<empty Model>"
