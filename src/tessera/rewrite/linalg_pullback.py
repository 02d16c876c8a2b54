"""Cholesky pullbacks of structured cotangents, in closed form.

The gradient of a Gaussian log-density ``-z.z/2 - sum(log(diag(L)))``,
``z = L^{-1} r``, reaches the Cholesky factor ``L`` as the cotangent

    gbar = a b^T + diag(t / diag(L)),   a = L^{-T}(s b)

(``b = z``, ``s = t = -1``), and :class:`CholeskyPullback` turns it into the
cotangent of ``A = L L^T``: a full matmul and two triangular solves per
matrix. Both terms have a closed form. With ``M = P + P^T`` from the
pullback's ``P = Phi(L^T gbar)/2``, the result is ``L^{-T} M L^{-1}``:

- for ``gbar = a b^T`` with ``L^T a = s b``: ``L^T gbar = s b b^T``, so
  ``M = s b b^T / 2`` and the pullback is ``a a^T / (2 s)``, an outer product;
- for ``gbar = diag(t / diag(L))``: ``M = t I / 2``, and the pullback is
  ``(t / 2) (L L^T)^{-1}``, one :func:`~tessera.linalg.cholesky_inverse`
  (LAPACK ``potri``: a third of the flops of the two solves).

Together: ``(a a^T / s - t A^{-1}) / 2``, the textbook gradient of the
Gaussian log-density with respect to its covariance. The scales may also
be per batch element (shape (..., 1), as when a log-density is masked by
``where``); then ``s`` may be zero, and the outer product is formed as
``a u^T / 2`` with ``u = L^{-T} b`` (one more triangular solve, no
division). Terms of any other form stay in a (smaller) CholeskyPullback.

Tagged ``independent_lapack``, which the JAX backend excludes: there ``cholesky_inverse``'s
solves do not depend on the log-density's own, XLA's CPU runtime runs the
two at once, and on a 2-core machine it deadlocked in 4 of 12 runs of 300
calls at (64, 64) (none without this rewrite): both workers of the
intra-op pool sat in jaxlib's batched LAPACK kernel (``ParallelBatchMap``),
each waiting for helper tasks queued on that same pool.
"""

from __future__ import annotations

from tessera.graph.basic import Variable
from tessera.ops.blockwise import Blockwise
from tessera.ops.elemwise import Elemwise
from tessera.ops.linalg.decomposition import CholeskyPullback
from tessera.ops.linalg.solve import SolveTriangular
from tessera.ops.linalg.structure import AllocDiag, ExtractDiag, Triangle
from tessera.ops.shape import BroadcastTo, ExpandDims
from tessera.rewrite.basic import node_rewriter
from tessera.rewrite.linalg import TAGS, core_op, producer
from tessera.rewrite.pattern import uniform_value


def _fn(var: Variable) -> str | None:
    """The scalar function of the elementwise node computing ``var``."""
    node = var.owner
    if node is not None and isinstance(node.op, Elemwise):
        return node.op.scalar_fn.name
    return None


def _batch_factor(v: Variable, like: Variable) -> Variable | None:
    """``v`` as shape (..., 1) when it is constant along the last axis of
    ``like`` (a per-batch factor): of length 1 there, or broadcast from it."""
    if v.ndim != like.ndim or not v.ndim:
        return None
    node = v.owner
    if node is not None and isinstance(node.op, BroadcastTo):
        v = node.inputs[0]
    if v.ndim == like.ndim and v.type.shape[-1] == 1:
        return v
    return None


def scaled(var: Variable, depth: int = 4) -> tuple[Variable, float, list]:
    """``(x, s, factors)`` with ``var = s * prod(factors) * x``, peeling
    negations and products by uniform constants (``s``) or per-batch factors
    of shape (..., 1), none of which broadcasts ``x``."""
    scale, factors = 1.0, []
    for _ in range(depth):
        name = _fn(var)
        inputs = var.owner.inputs if name else ()
        if name == "neg":
            scale, var = -scale, inputs[0]
            continue
        if name in ("mul", "true_div") and len(inputs) == 2:
            found = False
            for x, c in [inputs, inputs[::-1]] if name == "mul" else [inputs]:
                if x.type != var.type:
                    continue
                u = uniform_value(c)
                if u is not None and u != 0:
                    scale, var, found = (
                        (scale * u if name == "mul" else scale / u),
                        x,
                        True,
                    )
                    break
                f = _batch_factor(c, var) if name == "mul" else None
                if f is not None:
                    factors, var, found = factors + [f], x, True
                    break
            if found:
                continue
        break
    return var, scale, factors


def _terms(var: Variable, sign: float = 1.0, depth: int = 4):
    """The terms of a sum (``add``/``sub`` nodes) as ``(term, sign)`` pairs."""
    name = _fn(var)
    if depth and name == "add":
        return [t for x in var.owner.inputs for t in _terms(x, sign, depth - 1)]
    if depth and name == "sub":
        x, y = var.owner.inputs
        return _terms(x, sign, depth - 1) + _terms(y, -sign, depth - 1)
    return [(var, sign)]


def _new_axis(var: Variable) -> tuple[Variable, int] | None:
    """``(x, axis)`` when ``var`` is ``x`` with one new axis of length 1 at
    ``axis`` (of ``var``): an ExpandDims, or indexing by ``None`` and ``:``."""
    from tessera.ops.indexing import FULL
    from tessera.ops.subtensor import Subtensor

    node = var.owner
    if node is None:
        return None
    if isinstance(node.op, ExpandDims) and len(node.op.axes) == 1:
        return node.inputs[0], node.op.axes[0] % var.ndim
    if not isinstance(node.op, Subtensor) or len(node.inputs) != 1:
        return None
    idx = list(node.op.idx_list)
    if idx.count(None) != 1 or not all(i in (None, FULL, Ellipsis) for i in idx):
        return None
    if idx.count(Ellipsis) > 1:
        return None
    pos = idx.index(None)
    if Ellipsis in idx and idx.index(Ellipsis) < pos:
        return node.inputs[0], var.ndim - (len(idx) - pos)
    return node.inputs[0], pos


def _outer_factors(var: Variable) -> tuple[Variable, Variable] | None:
    """``(a, b)`` when ``var`` is ``a[..., :, None] * b[..., None, :]``."""
    if _fn(var) != "mul" or len(var.owner.inputs) != 2:
        return None
    col = row = None
    for x in var.owner.inputs:
        found = _new_axis(x)
        if found is None:
            return None
        inner, axis = found
        if axis == x.ndim - 1:
            col = inner
        elif axis == x.ndim - 2:
            row = inner
    return (col, row) if col is not None and row is not None else None


def _outer_term(c: Variable, term: Variable) -> Variable | None:
    """The pullback of ``term = a b^T`` with ``c^T a = s b``: ``a u^T / 2``
    with ``u = c^{-T} b`` (``a / s`` for a constant ``s``)."""
    from tessera.ops.linalg.solve import solve_triangular
    from tessera.ops.shape import expand_dims

    factors = _outer_factors(term)
    if factors is None:
        return None
    a, b = factors
    solved, s1, f1 = scaled(a)
    node = producer(solved, SolveTriangular)
    if node is None or node.inputs[0] is not c:
        return None
    op = core_op(node)
    if not (op.lower and op.trans == 1 and not op.unit_diagonal and op.b_ndim == 1):
        return None
    rhs, s2, f2 = scaled(node.inputs[1])
    base, s3, f3 = scaled(b)
    if rhs is not base:
        return None
    if f1 or f2 or f3:
        # per-batch scales, maybe zero: no division, one more solve
        u = solve_triangular(c, b, lower=True, trans=1, b_ndim=1, on_error=op.on_error)
        return expand_dims(a * 0.5, -1) * expand_dims(u, -2)
    s = s1 * s2 / s3
    return expand_dims(a * (0.5 / s), -1) * expand_dims(a, -2)


def _diag_term(c: Variable, term: Variable) -> Variable | None:
    """``(t / 2) (c c^T)^{-1}`` for ``term = diag(t / diag(c))``, ``t`` a
    constant or per-batch."""
    from tessera.ops.linalg.inverse import cholesky_inverse
    from tessera.ops.shape import expand_dims

    node = term.owner
    if node is None or not isinstance(node.op, AllocDiag) or node.op.offset != 0:
        return None
    d, t, factors = scaled(node.inputs[0])
    if _fn(d) == "true_div":
        num, den = d.owner.inputs
        u = uniform_value(num)
        f = _batch_factor(num, d) if u is None else None
        if u is None and f is None:
            return None
        t, factors = (t * u, factors) if f is None else (t, factors + [f])
    elif _fn(d) == "reciprocal":
        den = d.owner.inputs[0]
    else:
        return None
    diag = producer(den, ExtractDiag)
    if diag is None or diag.op.offset != 0 or diag.inputs[0] is not c:
        return None
    out = cholesky_inverse(c) * (0.5 * t)
    for f in factors:
        out = out * expand_dims(f, -1)
    return out


def _closed_form(c: Variable, term: Variable, depth: int = 3) -> Variable | None:
    """The pullback of ``c`` with cotangent ``term`` in closed form, or None.

    Sees through a lower triangle (the pullback reads only that) and a sum
    over batch dims along which ``c`` is shared (the pullback is linear).
    """
    from tessera.ops.reduction import Reduce

    new = _outer_term(c, term)
    if new is None:
        new = _diag_term(c, term)
    if new is not None or not depth or term.owner is None:
        return new
    node, op = term.owner, core_op(term.owner)
    if isinstance(op, Triangle) and op.lower and op.k >= 0:
        return _closed_form(c, node.inputs[0], depth - 1)
    if not isinstance(op, Reduce) or op.kind != "sum" or op.keepdims:
        return None
    inner = node.inputs[0]
    for axis in op.axis:
        from_end = inner.ndim - axis  # c must be shared along this axis
        if from_end <= 2 or (c.ndim >= from_end and c.type.shape[-from_end] != 1):
            return None
    new = _closed_form(c, inner, depth - 1)
    if new is None or new.type.shape != inner.type.shape or None in new.type.shape:
        return None
    return new.sum(axis=op.axis)


@node_rewriter([CholeskyPullback, Blockwise], tags=[*TAGS, "independent_lapack"])
def cholesky_pullback_closed_form(fg, node):
    """CholeskyPullback(c, a b^T + diag(t / diag(c)) + rest) ->
    a a^T / (2 s) + (t / 2) cholesky_inverse(c) + CholeskyPullback(c, rest)."""
    if not isinstance(core_op(node), CholeskyPullback):
        return None
    c, g = node.inputs
    done, rest = [], []
    for term, sign in _terms(g):
        new = _closed_form(c, term)
        if new is None:
            rest.append((term, sign))
        else:
            done.append(new if sign > 0 else -new)
    if not done:
        return None
    if rest:
        g_rest = None
        for term, sign in rest:
            term = term if sign > 0 else -term
            g_rest = term if g_rest is None else g_rest + term
        done.append(node.op(c, g_rest))
    out = done[0]
    for x in done[1:]:
        out = out + x
    old = node.outputs[0]
    return [out] if out.type == old.type else None
