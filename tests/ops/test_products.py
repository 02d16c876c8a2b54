"""matmul, dot, outer, tensordot and einsum against NumPy, with gradients."""

import numpy as np
import pytest

import tessera as ts
from tessera.ops.blockwise import Blockwise
from tessera.ops.products import Einsum, MatMul
from tessera.ops.shape import shape_tuple
from tessera.ops.vectorize import vectorize_graph
from tessera.testing import verify_grad


def _rand(shape, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-3, 4, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _check(fn, np_fn, shapes, dtypes=None, static=True):
    """Build ``fn`` on symbolic inputs, compare value, dtype and shape to NumPy."""
    dtypes = dtypes or ["float64"] * len(shapes)
    vals = [_rand(s, d, seed=k) for k, (s, d) in enumerate(zip(shapes, dtypes))]
    syms = [
        ts.tensor(f"x{k}", shape=s if static else (None,) * len(s), dtype=d)
        for k, (s, d) in enumerate(zip(shapes, dtypes))
    ]
    out = fn(*syms)
    expected = np.asarray(np_fn(*vals))
    assert out.dtype == expected.dtype.name
    assert out.ndim == expected.ndim
    if static:
        assert out.type.shape == expected.shape
    got = ts.function(syms, out)(*vals)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    shape = ts.function(syms, out.shape)(*vals)
    assert tuple(shape) == expected.shape


# --- matmul --------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3, 4)),
    ((1, 1), (1, 1)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((2, 1, 3, 4), (5, 4, 6)),
    ((5, 2, 3), (3,)),
    ((3,), (5, 3, 2)),
    ((1, 2, 3), (4, 3, 2)),
    ((0, 3), (3, 4)),
    ((2, 0), (0, 4)),
    ((0, 2, 3), (3, 4)),
    ((0,), (0,)),
]


@pytest.mark.parametrize("static", [True, False])
@pytest.mark.parametrize(("sa", "sb"), MATMUL_SHAPES)
def test_matmul_matches_numpy(sa, sb, static):
    _check(ts.matmul, np.matmul, [sa, sb], static=static)


@pytest.mark.parametrize(
    "dtypes",
    [
        ("int64", "int64"),
        ("int32", "int64"),
        ("float32", "float32"),
        ("float32", "float64"),
        ("int64", "float32"),
        ("bool", "bool"),
    ],
)
def test_matmul_dtypes(dtypes):
    _check(ts.matmul, np.matmul, [(2, 2, 3), (3, 4)], dtypes=list(dtypes))
    _check(ts.matmul, np.matmul, [(2, 3), (3,)], dtypes=list(dtypes))


def test_matmul_operator_and_core_op():
    a = ts.tensor("a", shape=(2, 3))
    b = ts.tensor("b", shape=(3, 4))
    assert isinstance((a @ b).owner.op, MatMul)
    assert ([[1.0] * 3] * 2 @ b).type.shape == (2, 4)
    batched = ts.tensor("c", shape=(5, 2, 3)) @ b
    assert batched.owner.op == Blockwise(MatMul())
    assert MatMul().signature == "(m,k),(k,n)->(m,n)"


def test_matmul_batched_kernel_called_once(monkeypatch):
    calls = []
    original = MatMul.perform_batched

    def counting(self, node, inputs, out):
        calls.append([np.shape(x) for x in inputs])
        original(self, node, inputs, out)

    monkeypatch.setattr(MatMul, "perform_batched", counting)
    a = ts.tensor("a", shape=(4, 1, 2, 3))
    b = ts.tensor("b", shape=(5, 3, 2))
    va, vb = _rand((4, 1, 2, 3)), _rand((5, 3, 2))
    got = ts.function([a, b], a @ b)(va, vb)
    np.testing.assert_allclose(got, va @ vb)
    assert calls == [[(4, 1, 2, 3), (5, 3, 2)]]


@pytest.mark.parametrize(
    ("sa", "sb", "match"),
    [
        ((2, 3), (4, 5), r"matmul: shapes \(2, 3\) and \(4, 5\) are not aligned"),
        ((3,), (4,), r"matmul: shapes \(3,\) and \(4,\)"),
        ((2, 3), (2,), r"matmul: .*\(2, 3\) and \(2,\)"),
        ((5, 2, 3), (4, 3, 2), r"matmul \(batch dims\).*\(5,\) and \(4,\)"),
        ((), (3,), r"matmul: operands must have at least 1 dim"),
    ],
)
def test_matmul_shape_errors(sa, sb, match):
    with pytest.raises(ValueError, match=match):
        ts.matmul(ts.tensor("a", shape=sa), ts.tensor("b", shape=sb))


def test_matmul_core_op_errors():
    with pytest.raises(ValueError, match=r"MatMul: the core op takes two 2-D"):
        MatMul()(ts.tensor("a", shape=(2, 2, 3)), ts.tensor("b", shape=(3, 4)))
    with pytest.raises(ValueError, match=r"MatMul: shapes \(2, 3\) and \(4, 5\)"):
        MatMul()(ts.tensor("a", shape=(2, 3)), ts.tensor("b", shape=(4, 5)))


def test_matmul_run_time_mismatch_raises():
    a, b = ts.matrix("a"), ts.matrix("b")
    f = ts.function([a, b], a @ b)
    with pytest.raises(ValueError):
        f(np.ones((2, 3)), np.ones((4, 5)))


@pytest.mark.parametrize(
    ("sa", "sb"),
    [
        ((3,), (3,)),
        ((2, 3), (3,)),
        ((3,), (3, 2)),
        ((2, 3), (3, 4)),
        ((2, 1, 2, 3), (2, 3, 2)),
        ((2, 3), (2, 3, 2)),
        ((2, 2, 3), (3,)),
        ((3,), (2, 3, 2)),
    ],
)
def test_matmul_grad(sa, sb):
    verify_grad(ts.matmul, [_rand(sa, seed=1), _rand(sb, seed=2)])


def test_matmul_grad_mixed_dtypes():
    a = ts.tensor("a", shape=(2, 3), dtype="float32")
    b = ts.tensor("b", shape=(3, 2), dtype="float64")
    ga, gb = ts.grad((a @ b).sum(), [a, b])
    assert (ga.dtype, gb.dtype) == ("float32", "float64")
    n = ts.tensor("n", shape=(3, 2), dtype="int64")
    gx = ts.grad((a @ n).sum(), a)
    va, vn = _rand((2, 3), "float32"), _rand((3, 2), "int64")
    np.testing.assert_allclose(
        ts.function([a, n], gx)(va, vn), np.ones((2, 2)) @ vn.T, rtol=1e-6
    )


def test_matmul_second_derivative():
    verify_grad(lambda a: (a @ a).sum() * a, [_rand((2, 2))])


# --- dot, outer, tensordot --------------------------------------------------------

DOT_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3, 4)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (5, 4, 6)),
    ((2, 3), (5, 3, 4)),
    ((2, 3, 4), (4, 2)),
    ((), (3,)),
    ((2, 3), ()),
]


@pytest.mark.parametrize(("sa", "sb"), DOT_SHAPES)
def test_dot_matches_numpy(sa, sb):
    _check(ts.dot, np.dot, [sa, sb])
    _check(ts.dot, np.dot, [sa, sb], static=False)
    verify_grad(ts.dot, [_rand(sa, seed=1), _rand(sb, seed=2)])


def test_dot_errors():
    with pytest.raises(ValueError, match=r"dot: shapes \(2, 3\) and \(4,\)"):
        ts.dot(ts.tensor("a", shape=(2, 3)), ts.tensor("b", shape=(4,)))
    with pytest.raises(ValueError, match=r"dot: shape mismatch for sum"):
        ts.dot(ts.tensor("a", shape=(2, 2, 3)), ts.tensor("b", shape=(2, 4, 3)))


@pytest.mark.parametrize(
    ("sa", "sb"), [((3,), (4,)), ((2, 2), (3,)), ((), (2,)), ((0,), (3,))]
)
def test_outer_matches_numpy(sa, sb):
    _check(ts.outer, np.outer, [sa, sb])
    verify_grad(ts.outer, [_rand(sa, seed=1), _rand(sb, seed=2)])


TENSORDOT_CASES = [
    ((3, 4, 5), (4, 5, 2), 2),
    ((3, 4), (4, 5), 1),
    ((2, 3), (4, 2), 0),
    ((3,), (3,), 1),
    ((3, 4), (3, 4), 2),
    ((3, 4, 2), (4, 3, 2), ([1, 0], [0, 1])),
    ((3, 4, 2), (2, 4), ([1, 2], [1, 0])),
    ((3, 4, 2), (2, 5), (-1, 0)),
    ((3, 4, 2), (4, 5), ([-2], [-2])),
    ((0, 3), (3, 2), 1),
]


@pytest.mark.parametrize(("sa", "sb", "axes"), TENSORDOT_CASES)
def test_tensordot_matches_numpy(sa, sb, axes):
    def fn(a, b):
        return ts.tensordot(a, b, axes)

    def np_fn(a, b):
        return np.tensordot(a, b, axes)

    _check(fn, np_fn, [sa, sb])
    _check(fn, np_fn, [sa, sb], static=False)
    if 0 not in sa:
        verify_grad(fn, [_rand(sa, seed=1), _rand(sb, seed=2)])


@pytest.mark.parametrize(
    ("sa", "sb", "axes", "match"),
    [
        ((3, 4), (5, 6), 1, r"tensordot: shape mismatch for sum: axis 1 of a"),
        ((3, 4), (4, 5), 3, r"tensordot: axes=3 is out of range"),
        ((3, 4), (4, 5), ([1], [0, 1]), r"differ in length"),
        ((3, 4), (4, 5), ([2], [0]), r"axis 2 is out of range"),
    ],
)
def test_tensordot_errors(sa, sb, axes, match):
    with pytest.raises(ValueError, match=match):
        ts.tensordot(ts.tensor("a", shape=sa), ts.tensor("b", shape=sb), axes)


def test_tensordot_run_time_mismatch_with_equal_products_raises():
    # (2, 3) and (3, 2) both merge to 6: the mismatch must not go unnoticed
    a, b = ts.matrix("a"), ts.matrix("b")
    f = ts.function([a, b], ts.tensordot(a, b, 2))
    np.testing.assert_allclose(f(np.ones((2, 3)), np.ones((2, 3))), 6.0)
    with pytest.raises(ValueError):
        f(np.ones((2, 3)), np.ones((3, 2)))


# --- einsum ------------------------------------------------------------------------

EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ii->", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("ij->ji", [(2, 3)]),
    ("ji", [(2, 3)]),
    ("ij", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (5, 3, 2)]),
    ("...ij,jk", [(4, 2, 3), (3, 2)]),
    ("i...->...", [(2, 3, 4)]),
    ("...i,...i->...", [(2, 3), (3,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,i", [(3,), (3,)]),
    ("i,i->i", [(3,), (3,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 4)]),
    ("ii,i->i", [(3, 3), (3,)]),
    ("bii->bi", [(2, 3, 3)]),
    ("iij->j", [(2, 2, 3)]),
    ("ij,ij->ij", [(2, 1), (2, 3)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]),
    ("Ab,bC->AC", [(2, 3), (3, 2)]),
    ("bAcB", [(2, 3, 2, 2)]),
    (",i->i", [(), (3,)]),
    ("ij,jk->ik", [(0, 3), (3, 2)]),
]


@pytest.mark.parametrize(("subscripts", "shapes"), EINSUM_CASES)
def test_einsum_matches_numpy(subscripts, shapes):
    def fn(*xs):
        return ts.einsum(subscripts, *xs)

    def np_fn(*xs):
        return np.einsum(subscripts, *xs)

    _check(fn, np_fn, shapes)
    _check(fn, np_fn, shapes, static=False)
    if not any(0 in s for s in shapes):
        vals = [_rand(s, seed=k + 1) for k, s in enumerate(shapes)]
        verify_grad(fn, vals)


def test_einsum_dtypes_and_large_path():
    _check(
        lambda a, b: ts.einsum("ij,jk", a, b),
        np.matmul,
        [(2, 3), (3, 2)],
        dtypes=["int32", "float32"],
    )
    _check(
        lambda a, b: ts.einsum("ij,jk", a, b),
        np.matmul,
        [(2, 3), (3, 2)],
        dtypes=["int64", "int64"],
    )
    # big enough for the BLAS (optimize=True) path
    _check(lambda a, b: ts.einsum("ij,jk->ik", a, b), np.matmul, [(40, 40), (40, 40)])


def test_einsum_grad_with_integer_operand():
    vb = _rand((3, 2), "int64")
    verify_grad(lambda a, b: ts.einsum("ij,jk->ik", a, b), [_rand((2, 3)), vb])


def test_einsum_second_derivative():
    verify_grad(lambda a: ts.einsum("ij,jk->ik", a, a).sum() * a, [_rand((2, 2))])


def test_einsum_op_props_and_identity_shortcut():
    a = ts.tensor("a", shape=(2, 3))
    b = ts.tensor("b", shape=(3, 4))
    out = ts.einsum("ij, jk", a, b)
    assert out.owner.op == Einsum("ij,jk->ik")
    assert ts.einsum("ij->ij", a) is a
    assert ts.einsum("...", a) is a
    c = ts.tensor("c", shape=(5, 2, 3))
    assert ts.einsum("...ij->...ji", c).owner.op.subscripts == "aij->aji"


@pytest.mark.parametrize(
    ("subscripts", "shapes", "error", "match"),
    [
        (
            "ij,jk",
            [(2, 3), (4, 5)],
            ValueError,
            r"index 'j' has different sizes.*"
            r"\(2, 3\), \(4, 5\)",
        ),
        ("ij,jk", [(2, 3)], ValueError, r"name 2 operands, got 1"),
        ("ijk", [(2, 3)], ValueError, r"term 'ijk' .* has 2 dims"),
        ("ij->k", [(2, 3)], ValueError, r"appear in no operand"),
        ("ij->ii", [(2, 3)], ValueError, r"repeats an index"),
        ("i1", [(2, 3)], ValueError, r"invalid subscript term"),
        ("...i->i", [(2, 3)], ValueError, r"output has no '...'"),
        ("....i", [(2, 3)], ValueError, r"invalid subscript term"),
        ("ii", [(2, 3)], ValueError, r"repeated index 'i'.*\(2, 3\)"),
        ("i->i->i", [(2,)], ValueError, r"invalid subscripts"),
    ],
)
def test_einsum_errors(subscripts, shapes, error, match):
    xs = [ts.tensor(f"x{k}", shape=s) for k, s in enumerate(shapes)]
    with pytest.raises(error, match=match):
        ts.einsum(subscripts, *xs)


def test_einsum_requires_subscripts_string():
    with pytest.raises(TypeError, match="subscripts string"):
        ts.einsum(ts.ones(3), [0])
    with pytest.raises(ValueError, match="explicit"):
        Einsum("ij")


@pytest.mark.parametrize(
    ("subscripts", "core", "batched"),
    [
        ("ij,jk->ik", [(2, 3), (3, 4)], [(5, 2, 3), (3, 4)]),
        ("ij,jk->ik", [(2, 3), (3, 4)], [(5, 1, 2, 3), (4, 3, 4)]),
        ("ii->i", [(3, 3)], [(2, 3, 3)]),
        ("i,j->ij", [(2,), (3,)], [(4, 2), (1, 3)]),
    ],
)
def test_einsum_vectorize(subscripts, core, batched):
    xs = [ts.tensor(f"x{k}", shape=s) for k, s in enumerate(core)]
    bs = [ts.tensor(f"b{k}", shape=s) for k, s in enumerate(batched)]
    out = vectorize_graph(ts.einsum(subscripts, *xs), dict(zip(xs, bs)))
    assert isinstance(out.owner.op, Einsum)
    vals = [_rand(s, seed=k) for k, s in enumerate(batched)]
    nb = max(len(b) - len(c) for b, c in zip(batched, core))
    expected = np.einsum(
        ",".join("..." + t for t in subscripts.split("->")[0].split(","))
        + "->..."
        + subscripts.split("->")[1],
        *vals,
    )
    assert out.type.shape == expected.shape
    assert expected.ndim == nb + len(subscripts.split("->")[1])
    np.testing.assert_allclose(ts.function(bs, out)(*vals), expected)
    verify_grad(
        lambda *v: vectorize_graph(ts.einsum(subscripts, *xs), dict(zip(xs, v))), vals
    )


@pytest.mark.parametrize(
    ("fn", "shapes"),
    [
        (lambda a, b: ts.einsum("ij,jk->ik", a, b), [(2, 1), (3, 4)]),
        (lambda a, b: ts.einsum("ij,ij->ij", a, b), [(2, 1), (2, 3)]),
        (lambda a, b: ts.einsum("...ij,...jk->...ik", a, b), [(1, 2, 3), (4, 3, 2)]),
        (lambda a, b: ts.einsum("ii,i->", a, b), [(3, 3), (3,)]),
        (ts.matmul, [(1, 2, 3), (4, 3, 2)]),
        (ts.matmul, [(2, 3), (3,)]),
        (lambda a, b: ts.tensordot(a, b, 2), [(2, 3, 4), (3, 4, 2)]),
    ],
)
def test_grad_with_unknown_static_shapes(fn, shapes):
    """Gradients on shape-(None, ...) inputs equal the statically shaped ones,
    including where size-1 dims broadcast only at run time."""
    vals = [_rand(s, seed=k) for k, s in enumerate(shapes)]
    results = []
    for static in (True, False):
        xs = [
            ts.tensor(f"x{k}", shape=s if static else (None,) * len(s))
            for k, s in enumerate(shapes)
        ]
        out = fn(*xs)
        proj = _rand(np.shape(fn(*[ts.constant(v) for v in vals]).eval()), seed=9)
        grads = ts.grad((out * proj).sum(), xs)
        results.append(ts.function(xs, grads)(*vals))
    for g_static, g_dynamic, v in zip(*results, vals):
        assert g_dynamic.shape == v.shape
        np.testing.assert_allclose(g_dynamic, g_static, rtol=1e-12, atol=1e-12)


def test_einsum_infer_shape_symbolic():
    a = ts.tensor("a", shape=(None, 1))
    b = ts.tensor("b", shape=(None, None))
    out = ts.einsum("ij,jk->ik", a, b)
    node = out.owner
    shapes = node.op.infer_shape(node, [shape_tuple(a), shape_tuple(b)])
    f = ts.function([a, b], list(shapes[0]))
    assert [int(s) for s in f(np.ones((2, 1)), np.ones((1, 4)))] == [2, 4]
    assert [int(s) for s in f(np.ones((2, 1)), np.ones((3, 4)))] == [2, 4]
