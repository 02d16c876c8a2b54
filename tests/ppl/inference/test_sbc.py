"""ppl.sbc: ranks uniform for a correct model, not for a wrong one."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tessera import ppl
from tessera.ppl.inference.many_data import StructureError


def normal_model(prior_sd):
    with ppl.Model() as m:
        mu = ppl.Normal("mu", 0.0, prior_sd)
        s = ppl.HalfNormal("s", 1.0)
        ppl.Normal("y", mu, s, observed=np.zeros(5))
    return m


def chi2_pvalue(ranks: np.ndarray, max_rank: int, bins: int = 10) -> float:
    counts = np.bincount(ranks * bins // (max_rank + 1), minlength=bins)
    return float(stats.chisquare(counts).pvalue)


KW = dict(draws=200, tune=200, chains=2, random_seed=4)


@pytest.fixture(scope="module")
def correct():
    return ppl.sbc(normal_model(2.0), 160, **KW)


@pytest.mark.parametrize(
    ("fit_prior_sd", "uniform"),
    [(None, True), (0.3, False)],
    ids=["correct-model", "prior-too-narrow"],
)
def test_ranks_uniform_only_for_the_correct_model(correct, fit_prior_sd, uniform):
    if fit_prior_sd is None:
        res = correct
    else:
        res = ppl.sbc(
            normal_model(2.0), 160, fit_model=normal_model(fit_prior_sd), **KW
        )
    ranks = res.ranks["mu"].values
    assert ranks.shape == (160,) and res.max_rank == 100  # 2 x 200 draws thinned by 4
    assert ranks.min() >= 0 and ranks.max() <= res.max_rank
    p = chi2_pvalue(ranks, res.max_rank)
    bands = res.within_bands()
    if uniform:
        assert p > 0.001 and bands["mu"] and bands["s"]
    else:
        assert p < 1e-6 and not bands["mu"]


def test_truths_are_the_prior_draws(correct):
    truths = correct.truths
    assert truths["mu"].dims == ("simulation",)
    assert abs(float(truths["mu"].std()) - 2.0) < 0.4
    assert float(truths["s"].min()) > 0


def test_plot_to_file_and_axes(correct, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = tmp_path / "sbc.png"
    axes = correct.plot(path=str(path))
    assert path.stat().st_size > 5_000 and len(axes) == 2
    fig, ax = plt.subplots(1, 2)
    got = correct.plot(ax=ax)
    assert got[0] is ax[0] and len(ax[0].lines) >= 2
    with pytest.raises(ValueError, match="2 parameters, 1 axes"):
        correct.plot(ax=[ax[0]])
    plt.close("all")


def test_build_function_and_structure_check():
    def build(y):
        return normal_model(2.0) if y is not None else None

    res = ppl.sbc(build, 20, data=np.zeros(5), draws=50, tune=50, random_seed=1)
    assert res.ranks["mu"].shape == (20,)
    with ppl.Model() as other:
        ppl.Normal("mu", 0.0, 1.0, shape=2)
    with pytest.raises(StructureError):
        ppl.sbc(normal_model(2.0), 5, fit_model=other, draws=10, tune=10)
    with pytest.raises(TypeError, match="data="):
        ppl.sbc(build, 5)
