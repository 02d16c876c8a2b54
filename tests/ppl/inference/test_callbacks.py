import numpy as np
import pytest

import tessera as ts
from tessera.ppl.inference.callbacks import (
    CheckParametersConvergence,
    ELBOPlateau,
    flat_parameters,
)


class Approx:
    def __init__(self, *values):
        self.params = [ts.shared(np.asarray(v, dtype=float)) for v in values]

    def set(self, *values):
        for p, v in zip(self.params, values):
            p.set_value(np.asarray(v, dtype=float))


def test_flat_parameters_order_and_copy():
    a = Approx([1.0, 2.0], [[3.0]])
    flat = flat_parameters(a)
    np.testing.assert_array_equal(flat, [1.0, 2.0, 3.0])
    flat[0] = 10.0
    assert a.params[0].get_value()[0] == 1.0


@pytest.mark.parametrize(
    ("diff", "old", "new", "stops"),
    [
        ("relative", [100.0, 0.0], [100.05, 0.0], True),  # 5e-4 relative
        ("relative", [100.0, 0.0], [100.5, 0.0], False),  # 5e-3 relative
        ("relative", [0.0, 0.0], [5e-4, 0.0], True),  # near zero: absolute
        ("absolute", [100.0, 0.0], [100.05, 0.0], False),
        ("absolute", [1.0, 2.0], [1.0, 2.0005], True),
    ],
)
def test_check_parameters_convergence(diff, old, new, stops):
    cb = CheckParametersConvergence(every=10, tolerance=1e-3, diff=diff)
    approx = Approx(old)
    hist = np.zeros(100)
    for i in range(10):  # first check: remembers the parameters
        cb(approx, hist, i)
    approx.set(new)
    for i in range(10, 19):  # no check between multiples of `every`
        cb(approx, hist, i)
    if stops:
        with pytest.raises(StopIteration, match="parameters converged"):
            cb(approx, hist, 19)
    else:
        assert cb(approx, hist, 19) is None


def test_check_parameters_convergence_norm_order():
    approx = Approx(np.zeros(100))
    cb = CheckParametersConvergence(every=1, tolerance=1e-2, diff="absolute", ord=2)
    cb(approx, None, 0)
    approx.set(np.full(100, 2e-3))  # inf-norm 2e-3, 2-norm 2e-2
    assert cb(approx, None, 1) is None


@pytest.mark.parametrize(
    ("hist", "stops"),
    [
        (np.full(40, -3.0), True),
        (np.linspace(-100.0, -1.0, 40), False),
        (np.r_[np.full(20, -1000.0), np.full(20, -1000.5)], True),  # 5e-4
        (np.r_[np.full(20, -10.0), np.full(20, -10.5)], False),  # 5e-2
    ],
)
def test_elbo_plateau(hist, stops):
    cb = ELBOPlateau(window=20, tolerance=1e-3)
    if stops:
        with pytest.raises(StopIteration, match="ELBO plateau"):
            cb(None, hist, 39)
    else:
        assert cb(None, hist, 39) is None


def test_elbo_plateau_waits_for_two_windows_and_every():
    cb = ELBOPlateau(window=20, tolerance=1e-3, every=7)
    hist = np.full(100, -3.0)
    assert cb(None, hist, 38) is None  # 39 < 2 windows
    assert cb(None, hist, 40) is None  # 41 not a multiple of 7
    with pytest.raises(StopIteration):
        cb(None, hist, 41)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: CheckParametersConvergence(diff="ratio"), "diff must be"),
        (lambda: CheckParametersConvergence(every=0), "every must be"),
        (lambda: ELBOPlateau(window=0), "window must be"),
    ],
)
def test_bad_settings(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# --- every method: convergence checks, Tracker, user callables, errors -------
import pytest  # noqa: E402

from tessera import ppl as _ppl  # noqa: E402

_METHODS = [
    ("advi", {}, {}),
    ("fullrank_advi", {}, {}),
    ("svgd", {"n_particles": 10}, {}),
    ("asvgd", {}, {"obj_n_mc": 10}),
    ("nfvi", {"flow": "scale-loc-planar"}, {}),
]


def _normal_model():
    with _ppl.Model() as model:
        _ppl.Normal("x", 1.0, 1.0, shape=2)
    return model


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize("method, inf_kwargs, kw", _METHODS)
def test_check_parameters_convergence_stops_every_method(
    method, inf_kwargs, kw, backend
):
    for diff in ("absolute", "relative"):
        cb = _ppl.CheckParametersConvergence(every=50, tolerance=0.05, diff=diff)
        approx = _ppl.fit(
            5000, method=method, model=_normal_model(), random_seed=0,
            inf_kwargs=inf_kwargs, callbacks=[cb], progressbar=False,
            obj_optimizer=_ppl.sgd(1e-3), backend=backend, **kw,
        )  # fmt: skip
        # small steps: the parameters change by less than 0.05 per 50 steps
        # soon, and the fit stops on a check (a multiple of 50 steps)
        assert 0 < len(approx.hist) < 5000 and len(approx.hist) % 50 == 0


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_tracker_and_user_callable(backend):
    model = _normal_model()
    seen = []

    def stop_at_30(approx, hist, i):
        seen.append(i)
        return i == 29

    tracker = _ppl.Tracker(
        mean=lambda approx: approx.mean_flat.copy(), hist_len=lambda: len(seen)
    )
    approx = _ppl.fit(
        100, model=model, random_seed=0, callbacks=[tracker, stop_at_30],
        progressbar=False, backend=backend,
    )  # fmt: skip
    assert len(approx.hist) == 30 and seen == list(range(30))
    assert len(tracker["mean"]) == 30 and tracker["hist_len"][:3] == [0, 1, 2]
    # each record is the parameters after its step: consecutive ones differ
    assert not np.array_equal(tracker["mean"][0], tracker["mean"][1])
    every = _ppl.Tracker(every=10, n=lambda approx: len(approx.hist))
    _ppl.fit(40, model=model, callbacks=[every], progressbar=False, backend=backend)
    assert len(every["n"]) == 4
    with pytest.raises(TypeError, match="'a' is not callable"):
        _ppl.Tracker(a=1)


@pytest.mark.parametrize("method", ["advi", "svgd", "nfvi"])
def test_non_finite_elbo_names_iteration_and_model_term(method):
    # a log-density that is -inf where b > 3 (a potential): the draws get there
    import tessera as ts

    with _ppl.Model() as model:
        b = _ppl.Normal("b", 0.0, 1.0)
        _ppl.Potential("wall", ts.switch(b > 3.0, -np.inf, 0.0))
    inf_kwargs = {"n_particles": 5} if method == "svgd" else {}
    with pytest.raises(_ppl.NonFiniteELBOError) as info:
        _ppl.fit(
            100, method=method, model=model, random_seed=0, start={"b": 3.5},
            inf_kwargs=inf_kwargs, progressbar=False, backend="numpy",
        )  # fmt: skip
    err = info.value
    assert f"iteration {err.iteration}" in str(err)
    assert "wall" in err.terms and "wall" in str(err) and "b=" in err.terms
