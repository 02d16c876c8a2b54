"""Tensor products: matmul, dot, outer, tensordot, einsum.

:class:`MatMul` is the core op (gufunc signature ``"(m,k),(k,n)->(m,n)"``);
batch dims go through :class:`~tessera.ops.blockwise.Blockwise`, which calls
its ``perform_batched`` kernel (one ``np.matmul``) once per call. ``dot`` and
``tensordot`` are built from transposes, reshapes and matmul, so their
gradients come from those ops. :class:`Einsum` carries explicit subscripts
without ellipsis; :func:`einsum` rewrites ``...`` into fresh letters.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.graph.null import NonDifferentiable
from tessera.graph.op import Op
from tessera.ops.basic import as_tensor
from tessera.ops.broadcasting import broadcast_static_shapes
from tessera.ops.elemwise import is_discrete, sum_to
from tessera.ops.shape import (
    broadcast_to,
    expand_dims,
    normalize_axes,
    reshape,
    shape_i,
    squeeze,
    transpose,
)
from tessera.ops.type import TensorType, shape_str

__all__ = [
    "Einsum",
    "MatMul",
    "dot",
    "einsum",
    "matmul",
    "outer",
    "tensordot",
]


def _cotangent_for(op: Op, g: Variable, x: Variable):
    """``g`` as the cotangent of input ``x`` (its dtype; none for integers)."""
    if is_discrete(x):
        return NonDifferentiable(op, f"integer input {x}")
    if g.dtype != x.dtype:
        from tessera.ops.math import cast

        g = cast(g, x.dtype)
    return g


# --- matmul ------------------------------------------------------------------


class MatMul(Op):
    """Matrix product of two 2-D tensors; the core op behind :func:`matmul`.

    Batch dims are added with ``Blockwise(MatMul())``, whose kernel is
    :meth:`perform_batched` (a single ``np.matmul`` over the whole batch).

    Examples
    --------
    >>> import tessera as ts
    >>> a = ts.tensor("a", shape=(2, 3))
    >>> b = ts.tensor("b", shape=(3, 4))
    >>> MatMul()(a, b).type.shape
    (2, 4)
    """

    __props__ = ()
    signature = "(m,k),(k,n)->(m,n)"

    def make_node(self, a, b) -> Apply:
        a, b = as_tensor(a), as_tensor(b)
        if a.ndim != 2 or b.ndim != 2:
            raise ValueError(
                f"MatMul: the core op takes two 2-D inputs, got shapes "
                f"{shape_str(a.type.shape)} and {shape_str(b.type.shape)} "
                "(use tessera.matmul for vectors and batches)"
            )
        (m, ka), (kb, n) = a.type.shape, b.type.shape
        if ka is not None and kb is not None and ka != kb:
            raise ValueError(
                f"MatMul: shapes {shape_str(a.type.shape)} and "
                f"{shape_str(b.type.shape)} are not aligned: {ka} (dim 1 of a) "
                f"!= {kb} (dim 0 of b)"
            )
        dtype = np.result_type(a.dtype, b.dtype).name
        return Apply(self, [a, b], [TensorType(dtype, (m, n))])

    def perform(self, node, inputs, output_storage):
        self.perform_batched(node, inputs, output_storage)

    def perform_batched(self, node, inputs, output_storage):
        """One ``np.matmul`` call; batch dims broadcast like a gufunc."""
        out = np.matmul(inputs[0], inputs[1])
        dtype = node.outputs[0].type.numpy_dtype
        output_storage[0][0] = out if out.dtype == dtype else out.astype(dtype)

    def infer_shape(self, node, input_shapes):
        (m, _), (_, n) = input_shapes
        return [(m, n)]

    def pullback(self, inputs, outputs, cotangents):
        (a, b), (g,) = inputs, cotangents
        # Core ops only, so that Blockwise can vectorize this graph.
        ga = self(g, transpose(b))
        gb = self(transpose(a), g)
        return [_cotangent_for(self, ga, a), _cotangent_for(self, gb, b)]


def _matmul(a: Variable, b: Variable, name: str) -> Variable:
    from tessera.ops.blockwise import apply_core

    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"{name}: operands must have at least 1 dim, got shapes "
            f"{shape_str(a.type.shape)} and {shape_str(b.type.shape)} "
            "(use * to multiply by a scalar)"
        )
    ka = a.type.shape[-1]
    kb = b.type.shape[-2] if b.ndim >= 2 else b.type.shape[0]
    if ka is not None and kb is not None and ka != kb:
        raise ValueError(
            f"{name}: shapes {shape_str(a.type.shape)} and "
            f"{shape_str(b.type.shape)} are not aligned: the last dim of a ({ka}) "
            f"must equal the {'second-to-last' if b.ndim >= 2 else 'only'} dim "
            f"of b ({kb})"
        )
    broadcast_static_shapes(
        [a.type.shape[:-2], b.type.shape[:-2]], f"{name} (batch dims)"
    )
    a2 = expand_dims(a, 0) if a.ndim == 1 else a
    b2 = expand_dims(b, 1) if b.ndim == 1 else b
    out = apply_core(MatMul(), a2, b2)
    drop = ((out.ndim - 2,) if a.ndim == 1 else ()) + (
        (out.ndim - 1,) if b.ndim == 1 else ()
    )
    return squeeze(out, drop) if drop else out


def matmul(a, b) -> Variable:
    """Matrix product with NumPy's ``matmul`` semantics.

    A 1-D ``a`` is treated as a row vector and a 1-D ``b`` as a column
    vector (the added dim is removed from the result); leading batch dims
    broadcast; dtypes promote as in NumPy. Also available as ``a @ b``.

    Parameters
    ----------
    a, b : tensor_like
        At least 1-D each.

    Returns
    -------
    TensorVariable

    Examples
    --------
    >>> import tessera as ts
    >>> a = ts.tensor("a", shape=(2, 1, 3, 4))
    >>> b = ts.tensor("b", shape=(5, 4, 6))
    >>> ts.matmul(a, b).type.shape
    (2, 5, 3, 6)
    >>> (ts.ones(3) @ ts.ones((3, 2))).eval()
    array([3., 3.])
    """
    return _matmul(as_tensor(a), as_tensor(b), "matmul")


# --- dot, outer, tensordot -----------------------------------------------------


def dot(a, b) -> Variable:
    """Dot product with NumPy's ``dot`` semantics.

    Scalars multiply; 1-D and 2-D operands are inner / matrix products; for
    N-D operands it sums over the last axis of ``a`` and the second-to-last
    of ``b`` (the last axis if ``b`` is 1-D), giving
    ``a.shape[:-1] + b.shape[:-2] + b.shape[-1:]``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.dot(ts.ones(3), ts.ones(3)).eval()
    array(3.)
    >>> ts.dot(ts.ones((2, 3, 4)), ts.ones((5, 4, 6))).type.shape
    (2, 3, 5, 6)
    """
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        from tessera.ops.math import mul

        return mul(a, b)
    if (a.ndim <= 2 and b.ndim <= 2) or a.ndim == 1 or b.ndim == 1:
        # matmul's batching puts the result dims exactly where np.dot does
        return _matmul(a, b, "dot")
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 2]), _name="dot")


def outer(a, b) -> Variable:
    """Outer product of the flattened inputs, like ``np.outer``.

    Examples
    --------
    >>> import tessera as ts
    >>> ts.outer(ts.constant([1.0, 2.0]), ts.constant([1.0, 10.0, 100.0])).eval()
    array([[  1.,  10., 100.],
           [  2.,  20., 200.]])
    """
    a, b = as_tensor(a), as_tensor(b)
    a = a if a.ndim == 1 else reshape(a, (-1,))
    b = b if b.ndim == 1 else reshape(b, (-1,))
    return expand_dims(a, 1) * expand_dims(b, 0)


def _prod(sizes: Sequence):
    total = 1
    for s in sizes:
        total = total * s
    return total


def _as_matrix(x: Variable, rows: Sequence[int], cols: Sequence[int]) -> Variable:
    """``x`` with ``rows`` merged into dim 0 and ``cols`` into dim 1."""
    xt = transpose(x, tuple(rows) + tuple(cols))
    if len(rows) == 1 and len(cols) == 1:
        return xt
    return reshape(
        xt, (_prod([shape_i(x, k) for k in rows]), _prod([shape_i(x, k) for k in cols]))
    )


def _tensordot_axes(axes, a: Variable, b: Variable, name: str):
    if isinstance(axes, int | np.integer):
        n = int(axes)
        if n < 0 or n > a.ndim or n > b.ndim:
            raise ValueError(
                f"{name}: axes={n} is out of range for shapes "
                f"{shape_str(a.type.shape)} and {shape_str(b.type.shape)}"
            )
        return tuple(range(a.ndim - n, a.ndim)), tuple(range(n))
    try:
        axes_a, axes_b = axes
    except (TypeError, ValueError):
        raise TypeError(
            f"{name}: axes must be an int or a pair of axis sequences, got {axes!r}"
        ) from None
    axes_a = (axes_a,) if isinstance(axes_a, int | np.integer) else tuple(axes_a)
    axes_b = (axes_b,) if isinstance(axes_b, int | np.integer) else tuple(axes_b)
    if len(axes_a) != len(axes_b):
        raise ValueError(
            f"{name}: axes {axes_a} of a and {axes_b} of b differ in length"
        )
    return normalize_axes(axes_a, a.ndim, name), normalize_axes(axes_b, b.ndim, name)


def tensordot(a, b, axes=2, *, _name: str = "tensordot") -> Variable:
    """Sum products over the given axes, like ``np.tensordot``.

    Parameters
    ----------
    a, b : tensor_like
    axes : int or (sequence of int, sequence of int)
        An int ``n`` pairs the last ``n`` axes of ``a`` with the first ``n``
        of ``b``; a pair lists the axes of ``a`` and of ``b`` to contract.

    Returns
    -------
    TensorVariable
        Shape: the free axes of ``a`` followed by the free axes of ``b``.

    Examples
    --------
    >>> import tessera as ts
    >>> a = ts.ones((3, 4, 5))
    >>> b = ts.ones((4, 3, 2))
    >>> ts.tensordot(a, b, axes=([1, 0], [0, 1])).type.shape
    (5, 2)
    """
    a, b = as_tensor(a), as_tensor(b)
    axes_a, axes_b = _tensordot_axes(axes, a, b, _name)
    unknown_pair = False
    for ia, ib in zip(axes_a, axes_b):
        sa, sb = a.type.shape[ia], b.type.shape[ib]
        if sa is not None and sb is not None and sa != sb:
            raise ValueError(
                f"{_name}: shape mismatch for sum: axis {ia} of a "
                f"{shape_str(a.type.shape)} has size {sa} but axis {ib} of b "
                f"{shape_str(b.type.shape)} has size {sb}"
            )
        unknown_pair |= sa is None or sb is None
    free_a = [k for k in range(a.ndim) if k not in axes_a]
    free_b = [k for k in range(b.ndim) if k not in axes_b]
    if unknown_pair and len(axes_a) > 1:
        # Merging several summed axes could hide a mismatch whose sizes have
        # the same product; broadcasting b to a's sizes fails at run time.
        bt = transpose(b, axes_b + tuple(free_b))
        target = [shape_i(a, k) for k in axes_a] + [shape_i(b, k) for k in free_b]
        b = broadcast_to(bt, target)
        axes_b = tuple(range(len(axes_b)))
        free_b = list(range(len(axes_b), b.ndim))
    a2 = _as_matrix(a, free_a, axes_a)
    b2 = _as_matrix(b, axes_b, free_b)
    out = MatMul()(a2, b2)
    if len(free_a) == 1 and len(free_b) == 1:
        return out
    return reshape(
        out, [shape_i(a, k) for k in free_a] + [shape_i(b, k) for k in free_b]
    )


# --- einsum ------------------------------------------------------------------

_LABELS = string.ascii_lowercase + string.ascii_uppercase


def _fresh_labels(used: str, n: int) -> str:
    free = [c for c in _LABELS if c not in used]
    if n > len(free):
        raise ValueError(f"einsum: more than {len(_LABELS)} distinct indices needed")
    return "".join(free[:n])


def _split_explicit(subscripts: str) -> tuple[tuple[str, ...], str]:
    lhs, rhs = subscripts.split("->")
    return tuple(lhs.split(",")), rhs


def _canonical_subscripts(subscripts: str, ndims: Sequence[int]) -> str:
    """Explicit subscripts with ``...`` replaced by fresh letters."""
    s = subscripts.replace(" ", "")
    if s.count("->") > 1:
        raise ValueError(f"einsum: invalid subscripts {subscripts!r}")
    lhs, rhs = s.split("->") if "->" in s else (s, None)
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(
            f"einsum: subscripts {subscripts!r} name {len(terms)} operands, "
            f"got {len(ndims)}"
        )
    for t in [*terms, rhs or ""]:
        body = t.replace("...", "", 1)
        if any(c not in _LABELS for c in body):
            raise ValueError(
                f"einsum: invalid subscript term {t!r} in {subscripts!r} (use letters "
                "and at most one '...' per term)"
            )
    n_ell = []
    for k, (t, nd) in enumerate(zip(terms, ndims)):
        letters = len(t.replace("...", ""))
        if ("..." in t and letters > nd) or ("..." not in t and letters != nd):
            raise ValueError(
                f"einsum: term {t!r} of {subscripts!r} does not match operand {k}, "
                f"which has {nd} dims"
            )
        n_ell.append(nd - letters if "..." in t else 0)
    n_max = max(n_ell, default=0)
    fresh = _fresh_labels(s, n_max)
    terms = [t.replace("...", fresh[n_max - n :]) for t, n in zip(terms, n_ell)]
    if rhs is None:
        counts = "".join(terms)
        once = sorted(c for c in set(counts) if counts.count(c) == 1 and c not in fresh)
        rhs = fresh + "".join(once)
    else:
        if "..." not in rhs and n_max:
            raise ValueError(
                f"einsum: operands of {subscripts!r} have dims under '...', but the "
                "output has no '...' to place them"
            )
        rhs = rhs.replace("...", fresh)
    return ",".join(terms) + "->" + rhs


class Einsum(Op):
    """Einstein summation over explicit subscripts such as ``"ij,jk->ik"``.

    The subscripts have an explicit output and no ``...`` (use
    :func:`einsum`, which rewrites the general forms). Same-letter dims of
    size 1 broadcast, as in NumPy.

    Examples
    --------
    >>> import tessera as ts
    >>> a = ts.tensor("a", shape=(2, 3))
    >>> b = ts.tensor("b", shape=(3, 4))
    >>> Einsum("ij,jk->ik")(a, b).type.shape
    (2, 4)
    """

    __props__ = ("subscripts",)

    def __init__(self, subscripts: str):
        subscripts = subscripts.replace(" ", "")
        if subscripts.count("->") != 1 or "." in subscripts:
            raise ValueError(
                f"Einsum: subscripts must be explicit ('...->...') without ellipsis, "
                f"got {subscripts!r}; use tessera.einsum for other forms"
            )
        terms, out = _split_explicit(subscripts)
        for t in (*terms, out):
            if any(c not in _LABELS for c in t):
                raise ValueError(f"Einsum: invalid term {t!r} in {subscripts!r}")
        if len(set(out)) != len(out):
            raise ValueError(f"Einsum: output {out!r} repeats an index")
        missing = set(out) - set("".join(terms))
        if missing:
            raise ValueError(
                f"Einsum: output indices {sorted(missing)} of {subscripts!r} appear "
                "in no operand"
            )
        self.subscripts = subscripts
        self.terms = terms
        self.out_term = out

    def __str__(self) -> str:
        return f"Einsum{{{self.subscripts}}}"

    def make_node(self, *operands) -> Apply:
        xs = [as_tensor(x) for x in operands]
        if len(xs) != len(self.terms):
            raise TypeError(
                f"einsum {self.subscripts!r} takes {len(self.terms)} operands, "
                f"got {len(xs)}"
            )
        sizes: dict[str, int | None] = {}
        for k, (t, x) in enumerate(zip(self.terms, xs)):
            if len(t) != x.ndim:
                raise ValueError(
                    f"einsum {self.subscripts!r}: term {t!r} does not match operand "
                    f"{k} of shape {shape_str(x.type.shape)}"
                )
            for c in set(t):
                dims = {x.type.shape[i] for i, ci in enumerate(t) if ci == c}
                if len(dims - {None}) > 1:
                    raise ValueError(
                        f"einsum {self.subscripts!r}: repeated index {c!r} of operand "
                        f"{k} spans dims of different sizes in shape "
                        f"{shape_str(x.type.shape)}"
                    )
        for c in set("".join(self.terms)):
            shapes = [
                tuple(x.type.shape[i] for i, ci in enumerate(t) if ci == c)[:1]
                for t, x in zip(self.terms, xs)
            ]
            try:
                (sizes[c],) = broadcast_static_shapes([s for s in shapes if s], "")
            except ValueError:
                raise ValueError(
                    f"einsum {self.subscripts!r}: index {c!r} has different sizes "
                    "in operands of shapes "
                    + ", ".join(shape_str(x.type.shape) for x in xs)
                ) from None
        dtype = np.result_type(*[x.dtype for x in xs]).name if xs else "float64"
        out_shape = tuple(sizes[c] for c in self.out_term)
        return Apply(self, xs, [TensorType(dtype, out_shape)])

    def perform(self, node, inputs, output_storage):
        # The C loop is fastest for small problems; beyond that, optimize=True
        # contracts pairwise through BLAS (10x faster on large products).
        opt = False
        if len(inputs) > 1:
            sizes = {}
            for t, x in zip(self.terms, inputs):
                sizes.update(zip(t, np.shape(x)))
            opt = _prod(sizes.values()) > 32768
        out = np.einsum(self.subscripts, *inputs, optimize=opt)
        output_storage[0][0] = np.asarray(out, dtype=node.outputs[0].type.numpy_dtype)

    def infer_shape(self, node, input_shapes):
        from tessera.ops.math import eq, switch

        result = []
        for c, static in zip(self.out_term, node.outputs[0].type.shape):
            if static is not None:
                result.append(static)
                continue
            dims = [
                shp[t.index(c)]
                for t, x, shp in zip(self.terms, node.inputs, input_shapes)
                if c in t and x.type.shape[t.index(c)] != 1
            ]
            d = dims[0]
            for other in dims[1:]:
                d = switch(eq(d, 1), other, d)
            result.append(d)
        return [tuple(result)]

    def pullback(self, inputs, outputs, cotangents):
        from tessera.ops.creation import eye, ones

        (g,) = cotangents
        result = []
        for k, (x, t) in enumerate(zip(inputs, self.terms)):
            if is_discrete(x):
                result.append(NonDifferentiable(self, f"integer input {x}"))
                continue
            ops = [g] + [y for j, y in enumerate(inputs) if j != k]
            terms = [self.out_term] + [u for j, u in enumerate(self.terms) if j != k]
            used = self.subscripts
            target = ""
            seen = set()
            # A repeated index (a diagonal) gets a fresh letter per extra
            # occurrence, tied to the first by an identity matrix.
            for c in t:
                if c in seen:
                    new = _fresh_labels(used, 1)
                    used += new
                    ops.append(eye(shape_i(x, t.index(c)), dtype=g.dtype))
                    terms.append(c + new)
                    target += new
                else:
                    seen.add(c)
                    target += c
            present = set("".join(terms))
            for axis, c in enumerate(t):
                if c not in present:
                    # summed out of this operand only: the cotangent is constant
                    # along it, so broadcast with a vector of ones
                    ops.append(ones((shape_i(x, axis),), dtype=g.dtype))
                    terms.append(c)
                    present.add(c)
            gx = Einsum(",".join(terms) + "->" + target)(*ops)
            # g carries output letters at their full broadcast size; a letter
            # summed out may have size 1 in every other operand but not in x
            grow = [a for a, c in enumerate(t) if c not in self.out_term]
            result.append(_fit_to(gx, x, grow))
        return result

    def vectorize_node(self, node, *batched_inputs):
        nbs = [b.ndim - x.ndim for b, x in zip(batched_inputs, node.inputs)]
        nb = max(nbs, default=0)
        fresh = _fresh_labels(self.subscripts, nb)
        terms = [fresh[nb - n :] + t for t, n in zip(self.terms, nbs)]
        subs = ",".join(terms) + "->" + fresh + self.out_term
        return Einsum(subs).make_node(*batched_inputs).outputs


def _fit_to(gx: Variable, x: Variable, axes: Sequence[int]) -> Variable:
    """Bring the cotangent ``gx`` to the shape of ``x`` across broadcasting.

    A same-letter dim of size 1 in ``x`` was broadcast: sum over it. Along
    ``axes``, ``gx`` may have size 1 where ``x`` does not (the letter had size
    1 in every other operand): broadcast it back up.
    """
    grow = False
    for a in axes:
        sx, sg = x.type.shape[a], gx.type.shape[a]
        grow |= sx != 1 and (sg is None or sg == 1) and (sx is None or sx != sg)
    gx = sum_to(gx, x)
    return broadcast_to(gx, x.shape) if grow else gx


def einsum(subscripts: str, *operands) -> Variable:
    """Einstein summation, like ``np.einsum``.

    Supports the implicit (``"ij,jk"``) and explicit (``"ij,jk->ik"``)
    forms, repeated indices (traces and diagonals), ``...`` for broadcast
    dims, and size-1 broadcasting of same-letter dims. Gradients are
    einsums of the cotangent with the other operands.

    Parameters
    ----------
    subscripts : str
    *operands : tensor_like

    Examples
    --------
    >>> import tessera as ts
    >>> a = ts.tensor("a", shape=(5, 2, 3))
    >>> b = ts.tensor("b", shape=(3, 4))
    >>> ts.einsum("...ij,jk->...ik", a, b).type.shape
    (5, 2, 4)
    >>> ts.einsum("ii", ts.eye(3)).eval()
    array(3.)
    """
    if not isinstance(subscripts, str):
        raise TypeError(
            "einsum: the first argument must be a subscripts string (the "
            "interleaved operand/sublist form is not supported)"
        )
    xs = [as_tensor(x) for x in operands]
    if not xs:
        raise ValueError("einsum: need at least one operand")
    canon = _canonical_subscripts(subscripts, [x.ndim for x in xs])
    terms, out = _split_explicit(canon)
    if len(xs) == 1 and terms[0] == out:
        return xs[0]
    return Einsum(canon)(*xs)
