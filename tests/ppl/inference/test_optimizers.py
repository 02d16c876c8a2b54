import numpy as np
import pytest

import tessera as ts
from tessera.ppl.inference.optimizers import (
    SGD,
    AdagradWindow,
    Adam,
    adagrad_window,
    adam,
    sgd,
)


def _np_adam(lr, b1=0.9, b2=0.999, eps=1e-8):
    state = {"t": 0, "m": 0.0, "v": 0.0}

    def step(p, g):
        state["t"] += 1
        t = state["t"]
        state["m"] = b1 * state["m"] + (1 - b1) * g
        state["v"] = b2 * state["v"] + (1 - b2) * g * g
        mhat = state["m"] / (1 - b1**t)
        vhat = state["v"] / (1 - b2**t)
        # tessera folds the bias corrections into the step size; same maths
        return p - lr * mhat / (np.sqrt(vhat) + eps / np.sqrt(1 - b2**t))

    return step


def _np_adagrad_window(lr, n_win, eps=1e-6):
    window = []

    def step(p, g):
        window.append(g * g)
        del window[:-n_win]
        return p - lr * g / np.sqrt(sum(window) + eps)

    return step


def _np_sgd(lr):
    return lambda p, g: p - lr * g


def _run(opt, start, target, n_steps):
    w = ts.shared(np.array(start), "w")
    loss = ((w - target) ** 2).sum()
    step = ts.function([], loss, updates=opt([ts.grad(loss, w)], [w]))
    for _ in range(n_steps):
        step()
    return w.get_value()


REFERENCES = [
    (adam(0.1), _np_adam(0.1)),
    (adam(0.05, beta1=0.5, beta2=0.9), _np_adam(0.05, 0.5, 0.9)),
    (adagrad_window(0.1, n_win=3), _np_adagrad_window(0.1, 3)),
    (adagrad_window(0.02, n_win=1), _np_adagrad_window(0.02, 1)),
    (sgd(0.1), _np_sgd(0.1)),
]


@pytest.mark.parametrize(
    ("opt", "ref"), REFERENCES, ids=[repr(o) for o, _ in REFERENCES]
)
def test_steps_match_numpy_reference(opt, ref):
    rng = np.random.default_rng(0)
    start = rng.normal(size=(2, 3))
    target = rng.normal(size=(2, 3))
    w = ts.shared(start.copy(), "w")
    loss = ((w - target) ** 2).sum()
    step = ts.function([], loss, updates=opt([ts.grad(loss, w)], [w]))
    p = start.copy()
    for _ in range(8):
        step()
        p = ref(p, 2 * (p - target))
        np.testing.assert_allclose(w.get_value(), p, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("opt", "n_steps"),
    [(adam(0.1), 400), (adagrad_window(0.05, 10), 800), (sgd(0.1), 100)],
    ids=repr,
)
def test_minimizes_quadratic(opt, n_steps):
    target = np.array([1.0, -2.0, 0.5])
    got = _run(opt, np.zeros(3), target, n_steps)
    np.testing.assert_allclose(got, target, atol=0.05)


def test_several_parameters_and_state():
    a = ts.shared(np.ones(2), "a")
    b = ts.shared(np.float64(3.0), "b")
    loss = (a**2).sum() + b**2
    opt = Adam(0.1)
    updates = opt(ts.grad(loss, [a, b]), [a, b])
    # t, then m and v of each parameter, then the parameters
    assert len(opt.state) == 5
    assert set(updates) == {a, b, *opt.state}
    f = ts.function([], loss, updates=updates)
    first = f()
    for _ in range(300):
        last = f()
    assert first == 11.0 and last < 1e-2


@pytest.mark.parametrize(
    ("make", "err", "match"),
    [
        (lambda: Adam(0.0), ValueError, "learning_rate must be positive"),
        (lambda: SGD(-1.0), ValueError, "learning_rate must be positive"),
        (lambda: Adam(0.1, beta1=1.0), ValueError, "betas"),
        (lambda: AdagradWindow(0.1, n_win=0), ValueError, "n_win"),
    ],
)
def test_bad_settings(make, err, match):
    with pytest.raises(err, match=match):
        make()


def test_bad_calls():
    w = ts.shared(np.zeros(2), "w")
    g = ts.grad((w**2).sum(), w)
    with pytest.raises(ValueError, match="1 gradients for 2 parameters"):
        adam()([g], [w, w])
    x = ts.vector("x")
    with pytest.raises(TypeError, match="not a shared variable"):
        adam()([g], [x])
