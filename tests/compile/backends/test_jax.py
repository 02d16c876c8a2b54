"""The JAX backend against the NumPy backend (values, dtypes and gradients).

JIT compilation dominates the run time, so each test puts many ops into one
compiled function: ``compare_backends`` names the output that differs.
"""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")

import tessera as ts  # noqa: E402
from tessera.compile.backends.jax import JaxLoweringError, jax_funcify  # noqa: E402
from tessera.graph.basic import Apply  # noqa: E402
from tessera.graph.op import Op  # noqa: E402
from tessera.ops.math import OPS  # noqa: E402
from tessera.ops.shape import make_vector, shape_i, shape_tuple  # noqa: E402
from tessera.testing import compare_backends  # noqa: E402

# --- the elementwise table ------------------------------------------------------


def _real(r, s):
    return r.standard_normal(s)


def _pos(r, s):
    return r.uniform(0.5, 2.0, s)


def _unit(r, s):
    return r.uniform(-0.9, 0.9, s)


def _prob(r, s):
    return r.uniform(0.1, 0.9, s)


def _neg(r, s):
    return r.uniform(-2.0, -0.1, s)


def _nonzero(r, s):
    return r.choice([-1.0, 1.0], size=s) * r.uniform(0.5, 2.0, s)


def _exponent(r, s):
    return r.uniform(-1.5, 2.5, s)


def _order(r, s):
    return r.integers(0, 3, s).astype(float)


def _low(r, s):
    return r.uniform(-1.0, -0.2, s)


def _high(r, s):
    return r.uniform(0.2, 1.0, s)


def _bool(r, s):
    return r.random(s) < 0.5


def _int(r, s):
    return r.integers(0, 8, s)


def _special(r, s):
    x = r.standard_normal(s)
    x.reshape(-1)[::3] = np.array([np.nan, np.inf, -np.inf])[r.integers(0, 3)]
    return x


R, P, NZ = _real, _pos, _nonzero
# name -> (input domains, differentiable inputs); ops missing here are run
# forward only on real inputs, so a new op without a JAX lowering still fails
TABLE = {
    "add": ((R, R), (0, 1)),
    "sub": ((R, R), (0, 1)),
    "mul": ((R, R), (0, 1)),
    "true_div": ((R, NZ), (0, 1)),
    "floor_div": ((R, NZ), (0, 1)),
    "mod": ((R, NZ), (0, 1)),
    "pow": ((P, _exponent), (0, 1)),
    "neg": ((R,), (0,)),
    "abs": ((NZ,), (0,)),
    "sign": ((NZ,), (0,)),
    "reciprocal": ((NZ,), (0,)),
    "square": ((R,), (0,)),
    "sqrt": ((P,), (0,)),
    "maximum": ((R, R), (0, 1)),
    "minimum": ((R, R), (0, 1)),
    "clip": ((R, _low, _high), (0, 1, 2)),
    "exp": ((R,), (0,)),
    "expm1": ((R,), (0,)),
    "log": ((P,), (0,)),
    "log1p": ((P,), (0,)),
    "log2": ((P,), (0,)),
    "log10": ((P,), (0,)),
    "logaddexp": ((R, R), (0, 1)),
    "sigmoid": ((R,), (0,)),
    "softplus": ((R,), (0,)),
    "log_sigmoid": ((R,), (0,)),
    "logit": ((_prob,), (0,)),
    "log1mexp": ((_neg,), (0,)),
    "xlogy": ((R, P), (0, 1)),
    "xlog1py": ((R, P), (0, 1)),
    "sin": ((R,), (0,)),
    "cos": ((R,), (0,)),
    "tan": ((_unit,), (0,)),
    "arcsin": ((_unit,), (0,)),
    "arccos": ((_unit,), (0,)),
    "arctan": ((R,), (0,)),
    "arctan2": ((NZ, NZ), (0, 1)),
    "sinh": ((R,), (0,)),
    "cosh": ((R,), (0,)),
    "tanh": ((R,), (0,)),
    "erf": ((R,), (0,)),
    "erfc": ((R,), (0,)),
    "erfinv": ((_unit,), (0,)),
    "ndtr": ((R,), (0,)),
    "log_ndtr": ((R,), (0,)),
    "ndtri": ((_prob,), (0,)),
    "gammaln": ((P,), (0,)),
    "digamma": ((P,), (0,)),
    "polygamma": ((_order, P), (1,)),
    "betaln": ((P, P), (0, 1)),
    "gammainc": ((P, P), (1,)),
    "gammaincc": ((P, P), (1,)),
    "betainc": ((P, P, _prob), (2,)),
    "i0": ((R,), (0,)),
    "i1": ((NZ,), (0,)),
    "i0e": ((NZ,), (0,)),
    "i1e": ((NZ,), (0,)),
    "owens_t": ((R, R), (0, 1)),
    "floor": ((R,), (0,)),
    "ceil": ((R,), (0,)),
    "round": ((R,), (0,)),
    "where": ((_bool, R, R), (1, 2)),
    "eq": ((R, R), ()),
    "neq": ((R, R), ()),
    "lt": ((R, R), ()),
    "le": ((R, R), ()),
    "gt": ((R, R), ()),
    "ge": ((R, R), ()),
    "logical_and": ((_bool, _bool), ()),
    "logical_or": ((_bool, _bool), ()),
    "logical_xor": ((_bool, _bool), ()),
    "logical_not": ((_bool,), ()),
    "isnan": ((_special,), ()),
    "isinf": ((_special,), ()),
    "isfinite": ((_special,), ()),
    "and_": ((_int, _int), ()),
    "or_": ((_int, _int), ()),
    "xor": ((_int, _int), ()),
    "invert": ((_int,), ()),
    "identity": ((R,), (0,)),
}
# special functions: SciPy and JAX use different approximations
LOOSE = {"gammainc", "gammaincc", "betainc", "polygamma", "digamma", "erfinv", "ndtri"}
SHAPES = [(2, 3), (3,), (1, 3)]  # operands broadcast against each other


def _elemwise_case(names, rng):
    """One function applying every op in ``names`` to its own inputs."""
    arrays, spans, wrt = [], [], []
    for name in names:
        doms, diff = TABLE.get(name, ((R,) * OPS[name].scalar_fn.nin, ()))
        start = len(arrays)
        for k, dom in enumerate(doms):
            arrays.append(np.asarray(dom(rng, SHAPES[k])))
            if k in diff:
                wrt.append(start + k)
        spans.append((name, start, len(doms)))

    def fn(*xs):
        return {name: OPS[name](*xs[s : s + n]) for name, s, n in spans}

    return fn, arrays, wrt


def test_every_elementwise_op_has_a_table_entry():
    assert set(OPS) <= set(TABLE) | set(), sorted(set(OPS) - set(TABLE))


def test_elementwise_table(rng):
    # a few ops per JAX program: XLA compiling all of them with their
    # gradients as one program takes ~200 MB more memory, for no less time
    exact = [n for n in OPS if n not in LOOSE]
    for i in range(0, len(exact), 16):
        fn, arrays, wrt = _elemwise_case(exact[i : i + 16], rng)
        compare_backends(fn, arrays, wrt=wrt)
    fn, arrays, wrt = _elemwise_case([n for n in OPS if n in LOOSE], rng)
    compare_backends(fn, arrays, wrt=wrt, rtol=1e-6)


# broadcasting and its gradients with shapes known only at run time (size-1
# dims then broadcast at run time, SumTo reduces them); the handling does not
# depend on the function, so a few ops of each arity suffice
UNKNOWN_SHAPE_OPS = ["add", "mul", "true_div", "pow", "maximum", "logaddexp"]
UNKNOWN_SHAPE_OPS += ["exp", "log1p", "where", "clip", "lt", "xlogy"]


def test_elementwise_with_unknown_shapes(rng):
    fn, arrays, wrt = _elemwise_case(UNKNOWN_SHAPE_OPS, rng)
    compare_backends(fn, arrays, wrt=wrt, static_shapes=False)


def test_elementwise_dtypes(rng):
    f64, f32 = rng.standard_normal(3), rng.standard_normal(3).astype(np.float32)
    i64, i32 = rng.integers(1, 5, 3), rng.integers(1, 5, 3).astype(np.int32)
    u8, b = rng.integers(1, 5, 3).astype(np.uint8), rng.random(3) < 0.5

    def fn(f64, f32, i64, i32, u8, b):
        return [
            i32 + f32,  # NumPy: float64, JAX on its own: float32
            i64 * f32,
            i32 // i64,
            i32 % u8,
            u8 + b,
            ts.exp(i32),
            ts.sqrt(u8),
            ts.true_div(i64, i32),
            ts.where(b, i32, f32),
            ts.lt(i32, f32),
            ts.maximum(u8, i32),
            ts.cast(f64 * 3, "int32"),
            ts.cast(i32, "float32") * f32,
            f32 * 2.0,
            ts.polygamma(i32 % 3, f32 + 3),
            ts.abs(i32 - 3),
            ts.sum(b),
        ]

    out = compare_backends(fn, [f64, f32, i64, i32, u8, b])
    assert out[0].dtype == np.float64 and out[13].dtype == np.float32


def test_owens_t_fallback_matches_scipy():
    from scipy.special import owens_t

    from tessera.compile.backends.jax.elemwise import _owens_t_quadrature

    h = np.linspace(-6, 6, 25)[:, None]
    a = np.concatenate([np.linspace(-8, 8, 33), [0.0, 1.0, -1.0, 30.0]])[None, :]
    got = np.asarray(jax.jit(_owens_t_quadrature)(h, a))
    np.testing.assert_allclose(got, owens_t(h, a), rtol=1e-9, atol=1e-15)


# --- reductions, shapes, creation ------------------------------------------------


@pytest.mark.parametrize("static_shapes", [True, False], ids=["static", "unknown"])
def test_reductions(rng, static_shapes):
    x = rng.standard_normal((3, 4, 2))
    x[1, 2, 0] = x[1, 3, 0]  # a tie in max over axis 1
    m = rng.random((3, 4)) < 0.5

    def fn(x, m):
        return [
            x.sum(),
            ts.sum(x, axis=(0, 2), keepdims=True),
            ts.prod(x, axis=1),
            ts.max(x, axis=1),
            ts.min(x, axis=(0, 1), keepdims=True),
            ts.all(m, axis=0),
            ts.any(m),
            ts.sum(m, axis=1),
            ts.argmax(x, axis=1),
            ts.argmin(x),
            ts.argmax(x, axis=-1, keepdims=True),
            ts.logsumexp(x, axis=(1, 2)),
            ts.logsumexp(x, keepdims=True),
            ts.cumsum(x, axis=1),
            ts.cumprod(x),
            ts.mean(x, axis=0),
            ts.var(x, axis=1, ddof=1),
            ts.std(x),
            ts.sum(x, dtype="float32"),
        ]

    compare_backends(fn, [x, m], static_shapes=static_shapes)


@pytest.mark.parametrize("static_shapes", [True, False], ids=["static", "unknown"])
def test_shape_ops(rng, static_shapes):
    x = rng.standard_normal((2, 3, 4))
    v = rng.standard_normal((4,))
    s = rng.standard_normal((1, 3, 1))

    def fn(x, v, s):
        n0, n1, n2 = shape_tuple(x)
        parts = ts.split(x, 2, axis=0)
        return [
            ts.reshape(x, (6, -1)),
            ts.reshape(x, (n0 * n1, n2)),
            ts.flatten(x, 2),
            ts.transpose(x, (2, 0, 1)),
            ts.expand_dims(v, (0, 2)),
            ts.squeeze(s, (0, 2)),
            ts.broadcast_to(v, (3, 4)),
            ts.broadcast_to(s, (2, 3, 4)),
            ts.broadcast_to(v, x.shape) * x,
            ts.concatenate([x, x * 2], axis=1),
            ts.stack([v, v * 3], axis=1),
            parts[0] - parts[1],
            *ts.split(x, make_vector(1, n2 - 1), axis=2),  # sizes from a shape
            ts.tile(v, (2, 1)),
            ts.repeat(v, 2),
            ts.flip(x, (0, 2)),
            ts.swapaxes(x, 0, 2),
            ts.moveaxis(x, 0, -1),
            x.shape,
            ts.cast(x.shape, "float64") * v[:3],
            ts.zeros_like(x) + ts.ones_like(v),
            ts.full_like(x, 2.5) * x,
        ]

    compare_backends(fn, [x, v, s], static_shapes=static_shapes)


def test_creation(rng):
    x = rng.standard_normal((2, 3))

    def fn(x):
        n = shape_i(x, 1)
        return [
            ts.zeros((2, 3)) + x,
            ts.full((3,), 4.0) * x,
            ts.ones(x.shape, dtype="int32"),
            ts.eye(3) * 2.0,
            ts.eye(n, 4, k=1),
            ts.arange(n),
            ts.arange(1, 7, 2, dtype="float64") + x[0, 0],
            ts.linspace(x[0, 0], x[1, 1], 5),
            ts.tri(3, k=-1),
        ]

    compare_backends(fn, [x], static_shapes=False)


# --- indexing --------------------------------------------------------------------


@pytest.mark.parametrize("static_shapes", [True, False], ids=["static", "unknown"])
def test_indexing(rng, static_shapes):
    x = rng.standard_normal((5, 4, 3))
    y = rng.standard_normal((2, 4))
    i = np.array(3, dtype=np.int64)
    idx = np.array([4, 0, -1, 2])
    mask = np.array([True, False, True, True, False])

    def fn(x, y, i):
        return [
            x[1:4, ::-1, 1],
            x[-1, None, ..., ::2],
            x[i],
            x[i, 1:, i - 2],
            x[idx],
            x[idx, :, [0, 1, 2, 0]],  # non-adjacent advanced indices
            x[:, [0, 2], [1, 1]],
            x[mask, 1],
            x[np.array([[0, 1], [1, 2]])],
            # traced negative indices in bounds (each checked on its own axis)
            x[i - 8],
            x[..., i - 6],
            x[mask, i - 7],
            x[idx - 1, i - 7],
            ts.set_subtensor(x[1:3, :, 0], y),
            ts.inc_subtensor(x[i, ::2], 1.0),
            ts.set_subtensor(x[idx, 0, 0], 7.0),
            ts.inc_subtensor(x[[0, 0, 1], :, 2], y[0]),  # repeats accumulate
            ts.set_subtensor(x[[1, 3, 1], 0], x[:3, 1] * 2),  # last write wins
            ts.inc_subtensor(x[mask], 1.0),
        ]

    compare_backends(fn, [x, y, i], static_shapes=static_shapes)


def test_mask_computed_from_values(rng):
    x = rng.standard_normal((4, 3))

    def fn(x):
        return [ts.set_subtensor(x[x > 0], 0.0), ts.inc_subtensor(x[x[:, 0] < 0], 2.0)]

    compare_backends(fn, [x])


# --- products and Blockwise ---------------------------------------------------------


def test_products(rng):
    a, b = rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((5, 4, 2))
    v, w = rng.standard_normal(4), rng.standard_normal(3)
    c = rng.standard_normal((1, 4))

    def fn(a, b, v, w, c):
        m = a[0, 0]
        return [
            ts.matmul(a, b),
            ts.matmul(m, v),
            ts.matmul(w, m),
            ts.dot(v, v),
            ts.outer(w, v),
            ts.tensordot(a, b, axes=([3], [1])),
            ts.einsum("bij,jk->bik", a[:, 0], b[0]),
            ts.einsum("ij,ij->i", c, m),  # size-1 dim broadcasts
            ts.einsum("ii->i", m[:, :3]),
        ]

    compare_backends(fn, [a, b, v, w, c])


class _Norms(Op):
    """A core op with a signature and no batched kernel: (n)->(),(n)."""

    __props__ = ()
    signature = "(n)->(),(n)"

    def make_node(self, x):
        x = ts.as_tensor(x)
        return Apply(self, [x], [x.type.clone(shape=()), x.type])

    def perform(self, node, inputs, out):
        (x,) = inputs
        out[0][0] = np.asarray(np.sqrt((x * x).sum()))
        out[1][0] = x / out[0][0]


@jax_funcify.register(_Norms)
def _funcify_norms(op, node):
    import jax.numpy as jnp

    def run(x):
        n = jnp.sqrt((x * x).sum())
        return n, x / n

    return run


def test_blockwise_vectorizes_a_core_op_without_batched_kernel(rng):
    from tessera.ops.blockwise import Blockwise

    x = rng.standard_normal((2, 3, 4))
    out = compare_backends(lambda x: Blockwise(_Norms())(x), [x], grad=False)
    np.testing.assert_allclose(out[0], np.linalg.norm(x, axis=-1))


# --- shared variables, updates, float32 ------------------------------------------------


def test_updates_and_shared_variables(rng):
    data = rng.standard_normal((8, 3))
    target = data @ np.array([1.0, -2.0, 0.5])
    results = {}
    for backend in ("numpy", "jax"):
        w = ts.shared(np.zeros(3), "w")
        step = ts.shared(np.array(0, dtype=np.int64), "step")
        x = ts.tensor("x", shape=(None, 3))
        y = ts.tensor("y", shape=(None,))
        loss = ts.mean((ts.matmul(x, w) - y) ** 2)
        f = ts.function(
            [x, y],
            loss,
            updates={w: w - 0.1 * ts.grad(loss, w), step: step + 1},
            backend=backend,
        )
        losses = [float(f(data, target)) for _ in range(5)]
        results[backend] = (losses, np.asarray(w.get_value()), int(step.get_value()))
    np.testing.assert_allclose(results["jax"][0], results["numpy"][0], rtol=1e-12)
    np.testing.assert_allclose(results["jax"][1], results["numpy"][1], rtol=1e-12)
    assert results["jax"][2] == results["numpy"][2] == 5
    assert results["jax"][0][-1] < results["jax"][0][0]


def test_shared_value_set_between_jax_calls():
    w = ts.shared(np.ones(2), "w")
    f = ts.function([], [w * 2], updates={w: w + 1}, backend="jax")
    (first,) = f()
    np.testing.assert_array_equal(first, [2.0, 2.0])
    assert isinstance(w.get_value(), jax.Array)
    np.testing.assert_array_equal(np.asarray(w.get_value()), [2.0, 2.0])
    w.set_value(np.array([5.0, 5.0, 5.0]))  # a new shape retraces
    np.testing.assert_array_equal(f()[0], [10.0] * 3)
    np.testing.assert_array_equal(np.asarray(w.get_value()), [6.0] * 3)


def test_shared_variable_used_by_both_backends():
    w = ts.shared(np.zeros(3), "w")
    ts.function([], [], updates={w: w + 1}, backend="jax")()
    # the NumPy backend reads the device array JAX left (and may copy and
    # write into it, as set_subtensor does)
    out = ts.function([], ts.set_subtensor(w[0], 5.0), updates={w: w * 2})()
    np.testing.assert_array_equal(out, [5.0, 1.0, 1.0])
    assert isinstance(w.get_value(), np.ndarray)
    np.testing.assert_array_equal(w.get_value(), [2.0, 2.0, 2.0])


def test_float32_mode(rng):
    old = ts.config.floatX
    ts.config.floatX = "float32"
    try:
        x = rng.standard_normal((3, 4)).astype(np.float32)

        def fn(x):
            lin = ts.linspace(0.0, 1.0, 4)
            return [ts.exp(x) * 0.5 + lin, ts.logsumexp(x, axis=1), ts.zeros(3) + 1.0]

        out = compare_backends(fn, [x])
        assert all(o.dtype == np.float32 for o in out)
        xs = ts.tensor("xs", shape=(3,))
        f = ts.function([xs], ts.sigmoid(xs).sum(), backend="jax")
        assert f(np.ones(3, np.float32)).dtype == np.float32
    finally:
        ts.config.floatX = old


# --- inputs, outputs and errors ------------------------------------------------------


def test_inputs_outputs():
    x = ts.tensor("x", shape=(None, 2))
    f = ts.function([x], [x, x.sum(axis=0)], backend="jax")
    out = f(jax.numpy.ones((3, 2)))  # a JAX array input stays on the device
    assert isinstance(out[0], jax.Array) and out[1].shape == (2,)
    assert f([[1, 2]])[1].dtype == np.float64  # lists and int values convert
    with pytest.raises(ValueError, match="input 'x'"):
        f(np.ones((3, 3)))
    with pytest.raises(ValueError, match="input 'x'"):
        f(jax.numpy.ones((3,)))
    with pytest.raises(TypeError, match="cannot cast"):
        f(np.ones((3, 2), dtype=complex))
    g = ts.function([x], x.sum(), backend="jax")
    assert float(g(x=np.ones((2, 2)))) == 4.0
    assert "jax" in f.source and g.backend == "jax"


class _Mystery(Op):
    __props__ = ()

    def make_node(self, x):
        x = ts.as_tensor(x)
        return Apply(self, [x], [x.type])

    def perform(self, node, inputs, out):
        out[0][0] = inputs[0] + 1


def test_op_without_lowering_fails_at_compile_time():
    x = ts.tensor("x", shape=(3,))
    with pytest.raises(JaxLoweringError, match="no lowering for op _Mystery"):
        ts.function([x], _Mystery()(x) * 2, backend="jax")
    # it still runs on the NumPy backend
    np.testing.assert_array_equal(ts.function([x], _Mystery()(x))(np.zeros(3)), 1.0)


def test_value_dependent_shapes_fail_at_compile_time():
    x = ts.tensor("x", shape=(None,))
    n = ts.scalar("n", dtype="int64")
    with pytest.raises(JaxLoweringError, match="Reshape needs its input 1"):
        ts.function([x, n], ts.reshape(x, (n, -1)), backend="jax")
    with pytest.raises(JaxLoweringError, match="Alloc needs its input 1"):
        ts.function([n], ts.zeros((n,)), backend="jax")
    with pytest.raises(JaxLoweringError, match="AdvancedSubtensor"):
        ts.function([x], x[x > 0], backend="jax")
    with pytest.raises(JaxLoweringError, match="Subtensor"):
        ts.function([x, n], x[:n], backend="jax")
    # a scalar index may be dynamic
    assert float(ts.function([x, n], x[n], backend="jax")(np.arange(3.0), 2)) == 2.0


# --- linear algebra ---------------------------------------------------------------


def _spd(rng, *shape):
    a = rng.standard_normal((*shape, shape[-1]))
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def test_linalg(rng):
    la = ts.linalg
    s = _spd(rng, 2, 3)  # a batch of two 3x3 SPD matrices
    g = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)  # well conditioned
    b = rng.standard_normal((3, 2))  # broadcast over the batch
    v = rng.standard_normal((2, 3))
    t = rng.standard_normal((4, 3))  # tall
    w = rng.standard_normal((2, 4))  # wide

    def fn(s, g, b, v, t, w):
        c = la.cholesky(s)
        lu, piv = la.lu_factor(g)
        sign, logdet = la.slogdet(g)
        evals, evecs = la.eigh(s)
        q, r = la.qr(t)
        u, sv, vh = la.svd(t, full_matrices=False)
        return {
            "cholesky": c,
            "cholesky upper": la.cholesky(s, lower=False),
            "solve": la.solve(g, b),
            "solve vector": la.solve(g, v, b_ndim=1),
            "solve pos": la.solve(s, b, assume_a="pos"),
            "solve sym": la.solve(s, v, assume_a="sym", lower=True, b_ndim=1),
            "solve_triangular": la.solve_triangular(c, b, lower=True),
            "solve_triangular trans": la.solve_triangular(g, v, trans=1, b_ndim=1),
            "cho_solve": la.cho_solve((c, True), b),
            "lu": lu,
            "piv": piv,
            "lu_solve": la.lu_solve((lu, piv), b),
            "lu_solve trans": la.lu_solve((lu, piv), v, trans=1, b_ndim=1),
            "inv": la.inv(g),
            "pinv": la.pinv(t),
            "pinv wide": la.pinv(w),
            "cholesky_inverse": la.cholesky_inverse(c),
            "det": la.det(g),
            "slogdet": sign * logdet,
            "eigvalsh": la.eigvalsh(s),
            "eigh": evals,
            "eigh vectors": evecs * evecs,  # invariant to the sign choice
            "qr": q @ r,
            "qr r": la.qr(t, mode="r") ** 2,
            "svd": sv,
            "svd product": (u * sv[None, :]) @ vh,
            "svd values": la.svd(w, compute_uv=False),
            "expm": la.expm(g * 0.3),
            "tril": la.tril(g, -1),
            "triu": la.triu(t, 1),
            "diagonal": la.diagonal(g, 1),
            "diag": la.diag(v[0]),
            "trace": la.trace(g),
            "kron": la.kron(b, v),
            "matrix_power": la.matrix_power(g, 3),
        }

    compare_backends(fn, [s, g, b, v, t, w], rtol=1e-8, atol=1e-10)


def test_linalg_errors_and_nan_mode(rng):
    s = _spd(rng, 3, 3)
    s[1] = -s[1]  # not positive definite
    x = ts.tensor("x", shape=(None, 3, 3))
    f = ts.function([x], ts.linalg.cholesky(x), backend="jax")
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        f(s)
    w = ts.shared(np.zeros(2), "w")
    f = ts.function([x], ts.linalg.inv(x), updates={w: w + 1}, backend="jax")
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        f(np.zeros((2, 3, 3)))
    np.testing.assert_array_equal(np.asarray(w.get_value()), 0.0)  # not updated
    out = compare_backends(
        lambda x: ts.linalg.cholesky(x, on_error="nan"), [s], grad=False
    )
    assert np.isnan(out[0][1]).all() and np.isfinite(out[0][[0, 2]]).all()
