"""Log-densities of random variables pushed through elementwise transforms.

``CustomDist(..., dist=fn)`` builds its variable from other distributions
and tensor ops (``exp(Normal)``, ``2 * Gamma + 1``, ``Normal ** 2``). Its
log-density is derived here by the change of variables: walking from the
output back to the one random variable it transforms, each op is undone on
the value and contributes ``log |d x / d y|``:

.. math:: \\log f_Y(y) = \\log f_X(g^{-1}(y)) + \\log \\left|
          \\frac{d g^{-1}(y)}{d y} \\right|

summed over the event dims of the base variable. Two-to-one maps
(``abs``, ``square``, even powers) add the densities of both preimages.
A graph with an op that has no rule here, or that mixes several random
variables, raises :class:`NotImplementedError` naming the op.
"""

from __future__ import annotations

import numpy as np

from tessera.graph.basic import Variable
from tessera.graph.traversal import ancestors
from tessera.ops import math as tm
from tessera.ops.basic import as_tensor
from tessera.ops.creation import zeros_like
from tessera.ops.elemwise import Elemwise, is_discrete
from tessera.ops.static import get_static_value
from tessera.ppl.distributions.logprob import op_logp
from tessera.random.op import RandomVariable

__all__ = ["transformed_logp"]

# (value, the other input, position of the random input) -> list of
# (preimage, log |d preimage / d value|); None where the value is outside
# the image (a boolean graph of where it is inside comes with it)
_Branch = tuple[Variable, Variable | float]


def _is_draw(var: Variable) -> bool:
    node = var.owner
    return (
        node is not None
        and isinstance(node.op, RandomVariable)
        and var is node.outputs[1]
    )


def _depends_on_draw(var: Variable) -> bool:
    return any(_is_draw(v) for v in ancestors([var]))


def _unary(name: str, v: Variable) -> tuple[list[_Branch], Variable | None]:
    if name == "exp":
        return [(tm.log(v), -tm.log(v))], tm.gt(v, 0.0)
    if name == "log":
        return [(tm.exp(v), v)], None
    if name == "log1p":
        return [(tm.expm1(v), v)], None
    if name == "expm1":
        return [(tm.log1p(v), -tm.log1p(v))], tm.gt(v, -1.0)
    if name == "neg":
        return [(-v, 0.0)], None
    if name in ("identity",):
        return [(v, 0.0)], None
    if name == "sqrt":
        return [(tm.square(v), tm.log(2.0 * v))], tm.ge(v, 0.0)
    if name == "sigmoid":
        return [(tm.log(v) - tm.log1p(-v), -tm.log(v) - tm.log1p(-v))], (
            tm.logical_and(tm.gt(v, 0.0), tm.lt(v, 1.0))
        )
    if name == "square":
        return _two_branch_root(v, 2.0)
    if name == "abs":
        return [(v, 0.0), (-v, 0.0)], tm.ge(v, 0.0)
    raise KeyError(name)


def _two_branch_root(v: Variable, p: float):
    root = v ** (1.0 / p)
    jac = -np.log(abs(p)) + (1.0 / p - 1.0) * tm.log(v)
    return [(root, jac), (-root, jac)], tm.ge(v, 0.0)


def _binary(name: str, v: Variable, c: Variable, k: int):
    """Branches for ``name(x, c)`` (``k == 0``) or ``name(c, x)`` (``k == 1``)."""
    if name == "add":
        return [(v - c, 0.0)], None
    if name == "sub":
        return ([(v + c, 0.0)] if k == 0 else [(c - v, 0.0)]), None
    if name == "mul":
        return [(v / c, -tm.log(tm.abs(c)))], None
    if name == "true_div":
        if k == 0:  # v = x / c
            return [(v * c, tm.log(tm.abs(c)))], None
        # v = c / x
        return [(c / v, tm.log(tm.abs(c)) - 2.0 * tm.log(tm.abs(v)))], None
    if name == "pow":
        if k == 1:  # v = c ** x
            return [(tm.log(v) / tm.log(c), -tm.log(v) - tm.log(tm.abs(tm.log(c))))], (
                tm.gt(v, 0.0)
            )
        p = get_static_value(c)
        if p is not None and np.ndim(p) == 0 and float(p) == 0.0:
            raise NotImplementedError("x ** 0 is not invertible")
        if p is not None and np.ndim(p) == 0 and float(p) % 2 == 0:
            return _two_branch_root(v, float(p))
        # a power on the positive half-line
        root = v ** (1.0 / c)
        jac = -tm.log(tm.abs(c)) + (1.0 / c - 1.0) * tm.log(v)
        return [(root, jac)], tm.gt(v, 0.0)
    raise KeyError(name)


#: the elementwise ops whose inverse is known (by scalar function name)
INVERTIBLE = (
    "exp log log1p expm1 neg identity sqrt sigmoid square abs add sub mul true_div pow"
).split()
_SHIFTS = {"add", "sub", "neg", "identity"}


def transformed_logp(out: Variable, value: Variable) -> Variable:
    """The log-density of ``out`` at ``value``, ``out`` a transformed draw.

    Parameters
    ----------
    out : TensorVariable
        A random variable's draw, possibly passed through elementwise ops
        whose other inputs do not depend on any random variable.
    value : TensorVariable

    Raises
    ------
    NotImplementedError
        If an op on the way has no inverse here (the error names it), or
        ``out`` depends on several random variables.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> from tessera import ppl
    >>> y = ts.exp(ppl.Normal.dist(0.0, 1.0))
    >>> lp = transformed_logp(y, ts.as_tensor(2.0))
    >>> bool(np.isclose(lp.eval(), -0.9189 - np.log(2.0) ** 2 / 2 - np.log(2.0), atol=1e-4))
    True
    """
    base = _find_base(out)
    nd = base.owner.op.ndim_supp
    discrete = is_discrete(base)
    return _logp(out, as_tensor(value), nd, discrete)


def _find_base(out: Variable) -> Variable:
    cur = out
    while not _is_draw(cur):
        node = cur.owner
        if node is None:
            raise NotImplementedError(
                f"the variable {out} does not depend on a random variable; "
                "build it from ppl.<Distribution>.dist(...) draws"
            )
        random_inputs = [i for i in node.inputs if _depends_on_draw(i)]
        if len(random_inputs) != 1:
            raise NotImplementedError(
                f"cannot derive the log-density through op {node.op}: "
                f"{len(random_inputs)} of its inputs are random (one is needed)"
            )
        cur = random_inputs[0]
    return cur


def _logp(var: Variable, value: Variable, nd: int, discrete: bool) -> Variable:
    node = var.owner
    if _is_draw(var):
        return op_logp(node.op, value, node.inputs[2:])
    op = node.op
    name = op.scalar_fn.name if isinstance(op, Elemwise) else None
    if name is None or name not in INVERTIBLE:
        raise NotImplementedError(
            f"cannot derive the log-density through op {op}: it has no inverse "
            f"rule (invertible elementwise ops: {', '.join(INVERTIBLE)}); give "
            "CustomDist a logp function instead"
        )
    if discrete and name not in _SHIFTS:
        raise NotImplementedError(
            f"cannot derive the log-mass of a discrete variable through op {op}: "
            "only shifts (add, sub, neg) keep it"
        )
    k = next(i for i, x in enumerate(node.inputs) if _depends_on_draw(x))
    x = node.inputs[k]
    if x.ndim != var.ndim or any(
        a is not None and b is not None and a != b
        for a, b in zip(x.type.shape, var.type.shape)
    ):
        raise NotImplementedError(
            f"cannot derive the log-density through op {op}: it broadcasts the "
            f"random input of shape {x.type.shape} to {var.type.shape}, which "
            "is not one-to-one"
        )
    if len(node.inputs) == 1:
        branches, inside = _unary(name, value)
    else:
        c = node.inputs[1 - k]
        branches, inside = _binary(name, value, c, k)
    terms = [
        _logp(x, pre, nd, discrete) + _sum_event(as_tensor(jac), value, nd)
        for pre, jac in branches
    ]
    lp = terms[0]
    for t in terms[1:]:
        lp = tm.logaddexp(lp, t)
    if inside is not None:
        lp = tm.where(_all_event(inside, nd), lp, -np.inf)
    return lp


def _sum_event(jac: Variable, value: Variable, nd: int) -> Variable:
    if nd == 0:
        return jac
    jac = jac + zeros_like(value)  # a scalar term counts once per element
    return jac.sum(axis=tuple(range(jac.ndim - nd, jac.ndim)))


def _all_event(cond: Variable, nd: int) -> Variable:
    if nd == 0 or cond.ndim == 0:
        return cond
    return cond.all(axis=tuple(range(cond.ndim - nd, cond.ndim)))
