"""Helpers for tests: finite-difference gradient checks and backend comparison."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def verify_grad(
    fn: Callable,
    inputs: Sequence[np.ndarray],
    rng: np.random.Generator | int | None = 0,
    eps: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    wrt: Sequence[int] | None = None,
) -> None:
    """Check the symbolic gradient of ``fn`` against central finite differences.

    ``fn`` maps symbolic tensors (one per entry of ``inputs``, with the same
    dtype and ndim) to a symbolic tensor. The check projects the output on a
    fixed random tensor, so it tests the full vector-Jacobian product.
    Raises AssertionError with the worst element if they disagree.

    Parameters
    ----------
    fn : callable
    inputs : sequence of arrays
        The point at which to check.
    rng : Generator or int
        Source of the random projection.
    eps : float
        Finite-difference step (1e-6 for float64, 1e-3 for float32).
    rtol, atol : float
        Tolerances (defaults depend on the dtype).
    wrt : sequence of int, optional
        Positions of the inputs to check (float inputs by default).

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> verify_grad(lambda x: ts.exp(x) * x, [np.array([0.5, 1.5])])
    """
    from tessera import function, grad
    from tessera import sum as ts_sum
    from tessera.ops.basic import tensor

    rng = np.random.default_rng(rng)
    arrays = [np.asarray(v) for v in inputs]
    sym = [tensor(f"in{k}", shape=a.shape, dtype=a.dtype) for k, a in enumerate(arrays)]
    out = fn(*sym)
    out_val = function(sym, out)(*arrays)
    proj = rng.standard_normal(np.shape(out_val)).astype(np.asarray(out_val).dtype)
    cost = ts_sum(out * proj)
    if wrt is None:
        wrt = [k for k, a in enumerate(arrays) if a.dtype.kind == "f"]
    wrt = list(wrt)
    grads = function(sym, grad(cost, [sym[k] for k in wrt]))
    cost_fn = function(sym, cost)
    analytic = grads(*arrays)
    low = any(arrays[k].dtype == np.float32 for k in wrt)
    eps = eps if eps is not None else (1e-3 if low else 1e-6)
    rtol = rtol if rtol is not None else (1e-2 if low else 1e-4)
    atol = atol if atol is not None else (1e-2 if low else 1e-6)
    for k, g in zip(wrt, analytic):
        base = np.array(arrays[k], dtype=np.float64, order="C")  # 0-d stays 0-d
        numeric = np.zeros_like(base)
        flat = numeric.reshape(-1)
        for j in range(base.size):
            shifted = [a for a in arrays]
            plus, minus = base.copy(), base.copy()
            plus.reshape(-1)[j] += eps
            minus.reshape(-1)[j] -= eps
            shifted[k] = plus.astype(arrays[k].dtype)
            f_plus = float(cost_fn(*shifted))
            shifted[k] = minus.astype(arrays[k].dtype)
            f_minus = float(cost_fn(*shifted))
            flat[j] = (f_plus - f_minus) / (2 * eps)
        g = np.asarray(g, dtype=np.float64)
        if g.shape != numeric.shape:
            raise AssertionError(
                f"verify_grad: gradient of input {k} has shape {g.shape}, "
                f"expected {numeric.shape}"
            )
        if not np.allclose(g, numeric, rtol=rtol, atol=atol):
            err = np.abs(g - numeric) - atol - rtol * np.abs(numeric)
            j = np.unravel_index(np.argmax(err), g.shape) if g.ndim else ()
            raise AssertionError(
                f"verify_grad: input {k}: symbolic and numeric gradients differ; "
                f"worst at index {j}: symbolic {g[j]!r} vs numeric {numeric[j]!r}\n"
                f"symbolic:\n{g}\nnumeric:\n{numeric}"
            )


def compare_backends(
    fn: Callable,
    inputs: Sequence,
    grad: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    wrt: Sequence[int] | None = None,
    static_shapes: bool = True,
    rng: np.random.Generator | int | None = 0,
    backends: Sequence[str] = ("numpy", "jax"),
) -> list[np.ndarray]:
    """Compile one graph with several backends and check they agree.

    ``fn`` maps symbolic tensors (one per entry of ``inputs``, with the same
    dtype and ndim) to a tensor, a list of tensors or a dict of named tensors.
    Every output must have the same dtype, shape and values (NaNs in the same
    places) on every backend. With ``grad``, the gradient of
    ``sum(out * proj)`` over the float outputs (``proj`` fixed random
    tensors) with respect to each float input is compared as well; an input
    the cost does not depend on gets a zero gradient.

    Parameters
    ----------
    fn : callable
    inputs : sequence of arrays
    grad : bool
        Also compare gradients.
    rtol, atol : float, optional
        Tolerances (defaults depend on the dtype: 1e-4/1e-5 for float32,
        1e-9/1e-12 for float64).
    wrt : sequence of int, optional
        Positions of the inputs to differentiate (float inputs by default).
    static_shapes : bool
        Give the symbolic inputs the inputs' static shapes; with False every
        dim is unknown, which exercises run-time shape handling.
    rng : Generator or int
        Source of the projections.
    backends : sequence of str
        The first is the reference.

    Returns
    -------
    list of ndarray
        The reference backend's outputs (then gradients), as NumPy arrays.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> out = compare_backends(lambda x: ts.exp(x).sum(), [np.array([0.5, 1.0])])
    >>> len(out)  # the output and the gradient
    2
    """
    from tessera import function
    from tessera.ops.basic import tensor

    rng = np.random.default_rng(rng)
    arrays = [np.asarray(v) for v in inputs]
    sym = [
        tensor(
            f"in{k}",
            shape=a.shape if static_shapes else (None,) * a.ndim,
            dtype=a.dtype,
        )
        for k, a in enumerate(arrays)
    ]
    labels, outs = _labelled_outputs(fn(*sym))
    if grad:
        ref_vals = function(sym, outs, backend=backends[0])(*arrays)
        if wrt is None:
            wrt = [k for k, a in enumerate(arrays) if a.dtype.kind == "f"]
        grads = _projected_gradients(outs, ref_vals, [sym[k] for k in wrt], rng)
        outs = outs + grads
        labels = labels + [f"gradient wrt input {k}" for k in wrt][: len(grads)]
    results = [function(sym, outs, backend=b)(*arrays) for b in backends]
    ref = [np.asarray(v) for v in results[0]]
    for b, vals in zip(backends[1:], results[1:]):
        for label, r, v in zip(labels, ref, vals):
            where = f"compare_backends: {label}: {b} vs {backends[0]}"
            _assert_same(np.asarray(v), r, rtol, atol, where)
    return ref


def _labelled_outputs(res) -> tuple[list[str], list]:
    """Labels and outputs of what a ``compare_backends`` graph function returns."""
    if isinstance(res, dict):
        return list(res), list(res.values())
    if isinstance(res, list | tuple):
        return [f"output {k}" for k in range(len(res))], list(res)
    return ["output 0"], [res]


def _projected_gradients(outs, values, wrt, rng) -> list:
    """Gradients of ``sum(out * proj)`` over the float outputs (none if no term)."""
    from tessera import grad as ts_grad
    from tessera import sum as ts_sum
    from tessera.ops.basic import constant

    terms = []
    for o, v in zip(outs, values):
        v = np.asarray(v)
        if v.dtype.kind == "f":
            proj = rng.standard_normal(v.shape).astype(v.dtype)
            terms.append(ts_sum(o * constant(proj)))
    if not terms or not wrt:
        return []
    cost = terms[0]
    for t in terms[1:]:
        cost = cost + t
    return list(ts_grad(cost, list(wrt), disconnected="zero"))


def _assert_same(v: np.ndarray, r: np.ndarray, rtol, atol, where: str) -> None:
    """``v`` has ``r``'s dtype and shape and its values within tolerance."""
    if v.dtype != r.dtype:
        raise AssertionError(f"{where}: dtype {v.dtype} vs {r.dtype}")
    if v.shape != r.shape:
        raise AssertionError(f"{where}: shape {v.shape} vs {r.shape}")
    if r.dtype.kind in "fc":
        low = r.dtype in (np.float32, np.complex64)
        rt = rtol if rtol is not None else (1e-4 if low else 1e-9)
        at = atol if atol is not None else (1e-5 if low else 1e-12)
        ok = np.allclose(v, r, rtol=rt, atol=at, equal_nan=True)
    else:
        ok = np.array_equal(v, r)
    if ok:
        return
    if r.ndim and r.dtype.kind in "fc":
        err = np.abs(v.astype(np.float64) - r) - rt * np.abs(r)
        err = np.where(np.isnan(err), np.inf, err)
        j = tuple(int(i) for i in np.unravel_index(np.argmax(err), r.shape))
        detail = f"worst at index {j}: {v[j].item()!r} vs {r[j].item()!r}"
    else:
        detail = f"{v.tolist()!r} vs {r.tolist()!r}"
    raise AssertionError(f"{where}: values differ; {detail}")
