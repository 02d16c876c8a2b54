"""Normalizing flows: log-det-Jacobians against finite differences, formulas,
invertibility, the NFVI approximation's density; the IAF against a NumPy
reference, its autoregressive structure and its backends."""

import numpy as np
import pytest

import tessera as ts
from tessera import ppl
from tessera.ppl.inference.flows import (
    IAF,
    Loc,
    Planar,
    Radial,
    Scale,
    made_masks,
    parse_formula,
)
from tessera.ppl.inference.nfvi import NormalizingFlow

N = 3


def _model():
    with ppl.Model() as model:
        ppl.Normal("x", 0.0, 1.0, shape=N)
    return model


def _flow_fn(flows, seed=0):
    q = NormalizingFlow(_model(), np.array([0.3, -0.2, 0.5]), flows, random_seed=seed)
    # larger parameters than the initial ones, so the maps are far from identity
    rng = np.random.default_rng(seed + 1)
    for p in q.params:
        v = np.asarray(p.get_value())
        p.set_value(v + 0.8 * rng.standard_normal(v.shape))
    z = ts.tensor("z", shape=(N,))
    out, logdet = q.symbolic_flow(z)
    return ts.function([z], [out, logdet])


def _fd_logdet(f, z, h=1e-6):
    J = np.empty((N, N))
    for j in range(N):
        e = np.zeros(N)
        e[j] = h
        J[:, j] = (f(z + e)[0] - f(z - e)[0]) / (2 * h)
    return np.log(abs(np.linalg.det(J)))


@pytest.mark.parametrize(
    "flows",
    [
        [Loc()],
        [Scale()],
        [Planar()],
        [Radial()],
        [IAF()],
        [IAF(hidden=2, order=[1, 2, 0])],
        "scale-loc-planar*2-radial*2",
        "scale-loc-iaf*2-planar",
    ],
    ids=[
        "loc",
        "scale",
        "planar",
        "radial",
        "iaf",
        "iaf-order",
        "composition",
        "iaf-composition",
    ],
)
def test_logdet_matches_finite_difference_jacobian(flows):
    f = _flow_fn(flows)
    for z in np.random.default_rng(2).normal(size=(4, N)):
        out, logdet = f(z)
        np.testing.assert_allclose(logdet, _fd_logdet(f, z), rtol=1e-5, atol=1e-6)


def test_planar_stays_invertible():
    # w.u_hat >= -1 for any u, w: the derivative along w never changes sign
    rng = np.random.default_rng(0)
    u_ = ts.tensor("u", shape=(N,))
    w_ = ts.tensor("w", shape=(N,))
    f = ts.function([u_, w_], (w_ * Planar.u_hat(u_, w_)).sum())
    for _ in range(50):
        u, w = 3 * rng.normal(size=N), 3 * rng.normal(size=N)
        assert f(u, w) >= -1.0 - 1e-9


@pytest.mark.parametrize("formula", ["planar*2-radial", "iaf*2"])
def test_batched_flow_matches_single_draws(formula):
    q = NormalizingFlow(_model(), np.zeros(N), formula, random_seed=1)
    eps = np.random.default_rng(0).normal(size=(5, N))
    zs = ts.tensor("zs", shape=(5, N))
    z1 = ts.tensor("z1", shape=(N,))
    fb = ts.function([zs], list(q.symbolic_flow(zs)))
    f1 = ts.function([z1], list(q.symbolic_flow(z1)))
    out, ld = fb(eps)
    for k in range(5):
        o, l1 = f1(eps[k])
        np.testing.assert_allclose(out[k], o, rtol=1e-12)
        np.testing.assert_allclose(ld[k], l1, rtol=1e-12)


def test_logq_is_a_density():
    # 1-d: integrate q over a grid via the change of variables; E_q[1] = 1
    with ppl.Model() as model:
        ppl.Normal("x", 0.0, 1.0)
    # q at least as wide as the target (scale 1): finite-variance weights
    flows = [Scale(init_std=1.0), Loc(), Planar(), Radial()]
    q = NormalizingFlow(model, np.zeros(1), flows, random_seed=3)
    z, logq = q.sample_flat_logq(20000, random_seed=0)
    # importance identity: E_q[N(z; 0, 1) / q(z)] = 1
    w = np.exp(-0.5 * z[:, 0] ** 2 - 0.5 * np.log(2 * np.pi) - logq)
    assert abs(w.mean() - 1.0) < 0.05


def test_parse_formula():
    assert [f.short_name for f in parse_formula("scale-loc-planar*4")] == [
        "scale",
        "loc",
        *["planar"] * 4,
    ]
    assert [type(f) for f in parse_formula([Radial(), "loc"])] == [Radial, Loc]
    assert [f.short_name for f in parse_formula("scale-loc-IAF*2")] == [
        "scale",
        "loc",
        "iaf",
        "iaf",
    ]
    with pytest.raises(ValueError, match="unknown flow 'housholder'"):
        parse_formula("housholder")
    with pytest.raises(ValueError, match="bad repetition"):
        parse_formula("planar*0")


def test_nfvi_objects_and_formula_agree():
    model = _model()
    a = ppl.fit(
        50, method="nfvi", model=model, random_seed=0, progressbar=False,
        inf_kwargs={"flow": "scale-loc-radial"}, backend="numpy",
    )  # fmt: skip
    b = ppl.fit(
        50, method="nfvi", model=model, random_seed=0, progressbar=False,
        inf_kwargs={"flow": [Scale(), Loc(), Radial()]}, backend="numpy",
    )  # fmt: skip
    np.testing.assert_array_equal(a.hist, b.hist)
    assert a.formula == "scale-loc-radial"


def test_scale_loc_flow_starts_as_mean_field_advi():
    # regression: Scale started at std 1.0 while ADVI starts at 0.1, so a
    # flow containing "scale-loc" trailed mean-field ADVI by thousands of
    # steps on a tight posterior (benchmarks/vi.py: "not reached")
    import inspect

    advi_std = inspect.signature(ppl.ADVI).parameters["init_std"].default
    assert Scale().init_std == advi_std

    def tight():
        with ppl.Model() as model:
            ppl.Normal("x", 1.0, 0.05, shape=100)  # log Z = 0
        return model

    kw = dict(model=None, random_seed=0, progressbar=False, backend="numpy")
    advi = ppl.fit(300, method="advi", **{**kw, "model": tight()})
    nf = ppl.fit(
        300, method="nfvi", inf_kwargs={"flow": "scale-loc-planar*2"},
        **{**kw, "model": tight()},
    )  # fmt: skip
    elbo_advi, elbo_nf = advi.hist[-50:].mean(), nf.hist[-50:].mean()
    # from std 1.0 the flow's ELBO was about -2,500 here; mean-field's -4.5
    assert elbo_nf > elbo_advi - 5.0, (elbo_nf, elbo_advi)


# --- IAF ---------------------------------------------------------------------


def _iaf_params(flow, n, k, seed=0, scale=0.8):
    """An IAF layer's parameters, moved well away from their (identity) start."""
    params = flow.create(n, np.random.default_rng(seed), np.full(n, 0.2), k)
    rng = np.random.default_rng(seed + 1)
    for p in params:
        v = np.asarray(p.get_value())
        p.set_value(v + scale * rng.standard_normal(v.shape))
    return params


def _iaf_fn(flow, params, n):
    z = ts.tensor("z", shape=(None, n))
    return ts.function([z], list(flow.forward(params, z)))


def _iaf_numpy(order, values, z):
    """The IAF written out coordinate by coordinate: hidden unit ``h`` (degree
    ``h mod (n - 1)``) sees the inputs at most its degree in ``order``;
    output ``i`` sees the hidden units below its degree and the inputs
    before it."""
    w_in, b_in, w_out, w_direct, b_out = values
    n, hidden = w_in.shape
    deg = {j: order.index(j) for j in range(n)}
    hdeg = [h % (n - 1) for h in range(hidden)]
    out, logdet = np.empty_like(z), np.zeros(z.shape[0])
    for row in range(z.shape[0]):
        x = z[row]
        act = [
            np.tanh(
                b_in[h] + sum(w_in[j, h] * x[j] for j in range(n) if deg[j] <= hdeg[h])
            )
            for h in range(hidden)
        ]
        for i in range(n):
            m, s = b_out[i], b_out[n + i]
            for h in range(hidden):
                if hdeg[h] < deg[i]:
                    m += w_out[h, i] * act[h]
                    s += w_out[h, n + i] * act[h]
            for j in range(n):
                if deg[j] < deg[i]:
                    m += w_direct[j, i] * x[j]
                    s += w_direct[j, n + i] * x[j]
            out[row, i] = x[i] * np.exp(s) + m
            logdet[row] += s
    return out, logdet


def _fd_jacobian(f, z, h=1e-6):
    n = z.size
    J = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        J[:, j] = (f(z + e) - f(z - e)) / (2 * h)
    return J


# (n, hidden, order, k): the order by default alternates with the position k
IAF_CASES = [
    (3, None, None, 0),
    (3, None, None, 1),
    (4, 3, [2, 0, 3, 1], 0),
    (2, 1, None, 5),
    (5, 12, None, 2),
]


@pytest.mark.parametrize("n, hidden, order, k", IAF_CASES)
def test_iaf_matches_numpy_reference(n, hidden, order, k):
    flow = IAF(hidden=hidden, order=order)
    params = _iaf_params(flow, n, k)
    if order is None:
        order = list(range(n)) if k % 2 == 0 else list(range(n))[::-1]
    assert params[0].get_value().shape[1] == (hidden or max(2 * n, 8))
    z = np.random.default_rng(2).normal(size=(6, n))
    out, logdet = _iaf_fn(flow, params, n)(z)
    ref_out, ref_logdet = _iaf_numpy(order, [p.get_value() for p in params], z)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(logdet, ref_logdet, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n, hidden, order, k", IAF_CASES)
def test_iaf_jacobian_is_triangular_in_its_order(n, hidden, order, k):
    flow = IAF(hidden=hidden, order=order)
    params = _iaf_params(flow, n, k, seed=3)
    if order is None:
        order = list(range(n)) if k % 2 == 0 else list(range(n))[::-1]
    fn = _iaf_fn(flow, params, n)
    for z in np.random.default_rng(4).normal(size=(3, n)):
        J = _fd_jacobian(lambda x: fn(x[None])[0][0], z)
        P = J[np.ix_(order, order)]  # rows and columns in the layer's order
        # output i depends only on the inputs before it, and on z_i linearly
        np.testing.assert_allclose(np.triu(P, 1), 0.0, atol=1e-9)
        assert np.all(np.abs(P[np.tril_indices(n, -1)]) > 1e-8)  # and on all of them
        sign, logabsdet = np.linalg.slogdet(J)
        assert sign > 0  # diagonal exp(s) > 0
        np.testing.assert_allclose(fn(z[None])[1][0], logabsdet, rtol=1e-6, atol=1e-6)


def test_iaf_layers_alternate_directions():
    q = NormalizingFlow(_model(), np.zeros(N), "scale-loc-iaf*2", random_seed=0)
    masks = [
        f._masks[ps[0]][2][:, :N]
        for f, ps in zip(q.flows, q.flow_params)
        if f.short_name == "iaf"
    ]
    # positions 2 and 3: input j -> output i for j < i, then for j > i
    np.testing.assert_array_equal(masks[0], np.triu(np.ones((N, N)), 1))
    np.testing.assert_array_equal(masks[1], np.tril(np.ones((N, N)), -1))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_iaf_starts_as_the_identity(n):
    flow = IAF()
    params = flow.create(n, np.random.default_rng(0), np.full(n, 3.0), k=0)
    z = np.random.default_rng(1).normal(3.0, 1.0, size=(4, n))
    out, logdet = _iaf_fn(flow, params, n)(z)
    np.testing.assert_array_equal(out, z)
    np.testing.assert_array_equal(logdet, np.zeros(4))


def test_iaf_in_one_dimension_is_an_affine_map():
    flow = IAF()
    params = flow.create(1, np.random.default_rng(0), np.zeros(1), k=0)
    assert [p.name for p in params] == ["iaf0_b_out"]
    params[0].set_value(np.array([0.7, -0.4]))  # (m, s)
    z = np.array([[-1.0], [0.5], [2.0]])
    out, logdet = _iaf_fn(flow, params, 1)(z)
    np.testing.assert_allclose(out, z * np.exp(-0.4) + 0.7, rtol=1e-14)
    np.testing.assert_allclose(logdet, np.full(3, -0.4), rtol=1e-14)
    with ppl.Model() as model:
        ppl.Normal("x", 0.0, 1.0)
    approx = ppl.fit(
        50, method="nfvi", model=model, random_seed=0, progressbar=False,
        inf_kwargs={"flow": "iaf*2"}, backend="numpy",
    )  # fmt: skip
    assert np.all(np.isfinite(approx.hist))


@pytest.mark.parametrize("n, k", [(3, 0), (4, 1), (1, 0)])
def test_iaf_backends_agree(n, k):
    from tessera.testing import compare_backends

    flow = IAF()
    params = _iaf_params(flow, n, k, scale=0.5)
    z = np.random.default_rng(5).normal(size=(4, n))
    compare_backends(lambda x: list(flow.forward(params, x)), [z])


def test_made_masks_reject_bad_orders_and_iaf_bad_hidden():
    with pytest.raises(ValueError, match="permutation"):
        made_masks([0, 0, 1], 4)
    with pytest.raises(ValueError, match="permutation"):
        made_masks([0], 4)
    with pytest.raises(ValueError, match="hidden must be >= 1"):
        IAF(hidden=0)
    flow, other = IAF(), IAF()
    params = flow.create(3, np.random.default_rng(0), np.zeros(3), k=0)
    with pytest.raises(ValueError, match="not made by this flow"):
        other.forward(params, ts.tensor("z", shape=(3,)))
