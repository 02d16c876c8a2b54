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
    from tessera import function, grad, sum as ts_sum
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
        base = arrays[k].astype(np.float64)
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
