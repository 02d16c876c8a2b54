"""run_nutpie on hand-written log-densities (no model involved)."""

import arviz as az
import numpy as np
import pytest

from tessera.ppl.inference.nuts_nutpie import run_nutpie

MU = np.array([1.0, -2.0, 0.5])
COV = np.array([[1.0, 0.8, 0.0], [0.8, 1.0, 0.0], [0.0, 0.0, 0.25]])
PREC = np.linalg.inv(COV)


def gaussian(x):
    d = x - MU
    g = -PREC @ d
    return 0.5 * float(d @ g), g


def test_correlated_gaussian_means_within_4_mcse():
    res = run_nutpie(gaussian, 3, draws=500, tune=500, chains=2, seed=3)
    assert res.draws.shape == (2, 500, 3)
    draws = az.convert_to_dataset({"x": res.draws})
    mean = res.draws.mean(axis=(0, 1))
    mcse = az.mcse(draws)["x"].values
    assert np.all(np.abs(mean - MU) < 4 * mcse), (mean, mcse)
    sd = res.draws.std(axis=(0, 1))
    np.testing.assert_allclose(sd, np.sqrt(np.diag(COV)), rtol=0.15)
    for name in ("diverging", "step_size", "tree_depth", "n_steps", "lp", "energy"):
        assert res.stats[name].shape == (2, 500), name
    assert res.stats["diverging"].dtype == bool
    assert not res.stats["diverging"].any()


def test_seed_reproducible_and_initial_point():
    calls = []

    def init(seed):
        calls.append(seed)
        return MU + 0.1

    a = run_nutpie(gaussian, 3, draws=20, tune=20, chains=2, seed=5, initial_point=init)
    b = run_nutpie(gaussian, 3, draws=20, tune=20, chains=2, seed=5, initial_point=init)
    np.testing.assert_array_equal(a.draws, b.draws)
    assert (
        len(calls) == 6
        and sorted(calls[1:3]) == sorted(calls[4:])
        and calls[1] != calls[2]
    )


def test_invalid_region_is_a_divergence_not_an_error():
    # a half-normal on x > 0, written to raise outside the support
    def logp(x):
        if x[0] <= 0:
            raise np.linalg.LinAlgError("outside")
        return -0.5 * float(x[0] ** 2), -x

    res = run_nutpie(
        logp, 1, draws=300, tune=300, chains=1, seed=0, initial_point=lambda s: [1.0]
    )
    assert (res.draws > 0).all()
    assert abs(res.draws.mean() - np.sqrt(2 / np.pi)) < 0.15


def test_progress_bar_shows_without_a_terminal(capsys):
    # pytest's captured stderr is not a terminal: nutpie's own display would
    # show nothing there, the tqdm bar counts every draw of every chain
    run_nutpie(gaussian, 3, draws=40, tune=60, chains=2, seed=0, progressbar=True)
    err = capsys.readouterr().err
    assert "NUTS (nutpie)" in err
    assert "200/200" in err
    assert "divergences" in err


def test_no_progress_bar_when_off(capsys):
    run_nutpie(gaussian, 3, draws=40, tune=60, chains=2, seed=0, progressbar=False)
    assert "NUTS" not in capsys.readouterr().err


def test_warmup_saved():
    res = run_nutpie(gaussian, 3, draws=10, tune=30, chains=1, seed=0, save_warmup=True)
    assert res.warmup_draws.shape == (1, 30, 3)
    assert res.warmup_stats["step_size"].shape == (1, 30)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ndim": 0}, "at least one continuous variable"),
        ({"draws": 0}, "draws must be positive"),
        ({"chains": 0}, "chains must be positive"),
        ({"tune": 0}, "tune must be positive"),
        ({"initial_point": lambda s: np.zeros(2)}, r"expected \(3,\)"),
    ],
)
def test_errors(kwargs, match):
    args = {"ndim": 3, "draws": 5, "tune": 5, "chains": 1, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        run_nutpie(gaussian, **args)
