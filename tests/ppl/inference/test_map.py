import numpy as np
import pytest
from scipy import stats

from tessera import ppl


def _normal_model():
    y = np.array([1.0, 2.0, 4.0, 3.5])
    with ppl.Model(coords={"obs": range(4)}) as model:
        mu = ppl.Normal("mu", 0.0, 10.0)
        sigma = ppl.HalfNormal("sigma", 5.0)
        ppl.Deterministic("prec", sigma**-2)
        ppl.Normal("y", mu, sigma, observed=y, dims="obs")
    return model, y


def test_mode_in_original_space_and_deterministics():
    model, y = _normal_model()

    def neg(v):  # the same posterior written with SciPy
        mu, sigma = v
        if sigma <= 0:
            return np.inf
        return -(
            stats.norm(0, 10).logpdf(mu)
            + stats.halfnorm(scale=5).logpdf(sigma)
            + stats.norm(mu, sigma).logpdf(y).sum()
        )

    from scipy.optimize import minimize

    ref = minimize(neg, [2.0, 1.0], method="Nelder-Mead", options={"xatol": 1e-8})
    est = ppl.find_MAP(model=model, progressbar=False)
    # PyMC's default include_transformed=True adds the value variables
    assert sorted(est) == ["mu", "prec", "sigma", "sigma_log__"]
    assert sorted(
        ppl.find_MAP(model=model, include_transformed=False, progressbar=False)
    ) == [
        "mu",
        "prec",
        "sigma",
    ]
    np.testing.assert_allclose([est["mu"], est["sigma"]], ref.x, rtol=1e-4)
    np.testing.assert_allclose(est["prec"], est["sigma"] ** -2)


@pytest.mark.parametrize(
    ("jacobian", "expected"),
    [
        # Beta(a', b') posterior: mode of p, or (logit space) a' / (a' + b')
        (False, (2 + 7 - 1) / (2 + 3 + 20 - 2)),
        (True, (2 + 7) / (2 + 3 + 20)),
    ],
)
def test_jacobian_changes_the_mode(jacobian, expected):
    with ppl.Model() as model:
        p = ppl.Beta("p", 2.0, 3.0)
        ppl.Binomial("k", n=20, p=p, observed=7)
    est = ppl.find_MAP(model=model, jacobian=jacobian, progressbar=False)
    assert abs(float(est["p"]) - expected) < 1e-5


def test_start_include_transformed_return_raw():
    model, _ = _normal_model()
    est, raw = ppl.find_MAP(
        start={"sigma": 2.0, "mu": 1.0},
        model=model,
        include_transformed=True,
        return_raw=True,
        progressbar=False,
    )
    assert raw.success
    np.testing.assert_allclose(np.exp(est["sigma_log__"]), est["sigma"])
    # a start given on the unconstrained space gives the same optimum
    est2 = ppl.find_MAP(start={"sigma_log__": 0.0}, model=model, progressbar=False)
    np.testing.assert_allclose(est2["mu"], est["mu"], rtol=1e-5)


def test_progressbar_counts_evaluations(capsys):
    model, _ = _normal_model()
    _, raw = ppl.find_MAP(model=model, progressbar=True, return_raw=True)
    err = capsys.readouterr().err
    # the bar ends at the number of evaluations SciPy made, not "0/5000"
    assert f"find_MAP: {raw.nfev} evaluations" in err
    assert "/5000" not in err


def test_vars_optimizes_a_subset():
    model, y = _normal_model()
    est = ppl.find_MAP(
        vars=["sigma"], start={"mu": 0.5}, model=model, progressbar=False
    )
    assert float(est["mu"]) == 0.5  # held at its start

    def neg(log_sigma):  # the conditional mode of sigma given mu = 0.5
        sigma = np.exp(log_sigma[0])
        return -(
            stats.halfnorm(scale=5).logpdf(sigma)
            + stats.norm(0.5, sigma).logpdf(y).sum()
        )

    from scipy.optimize import minimize

    ref = minimize(neg, [0.0], method="Nelder-Mead", options={"xatol": 1e-10})
    np.testing.assert_allclose(float(est["sigma"]), np.exp(ref.x[0]), rtol=1e-4)
    with pytest.raises(KeyError, match="'nope', which is not a free variable"):
        ppl.find_MAP(vars=["nope"], model=model, progressbar=False)


def test_unknown_keyword_names_it():
    model, _ = _normal_model()
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['maxiter'\]"):
        ppl.find_MAP(model=model, maxiter=10, progressbar=False)


def test_errors():
    model, _ = _normal_model()
    with pytest.raises(KeyError, match="neither a free variable"):
        ppl.find_MAP(start={"nope": 1.0}, model=model, progressbar=False)
    with pytest.raises(ValueError, match="not finite at the start"):
        ppl.find_MAP(start={"sigma": -1.0}, model=model, progressbar=False)
    xb = ppl.Minibatch(np.zeros(10), batch_size=2)
    with ppl.Model() as mb_model:
        mu = ppl.Normal("mu", 0.0, 1.0)
        ppl.Normal("y", mu, 1.0, observed=xb)
    with pytest.raises(ValueError, match="Minibatch"):
        ppl.find_MAP(model=mb_model, progressbar=False)
