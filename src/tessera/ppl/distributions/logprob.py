"""Public log-density functions: ``logp``, ``logcdf`` and parameter checks.

``logp(rv, value)`` finds the distribution of ``rv`` from the op that drew
it, converts and checks ``value``, and returns the distribution's symbolic
log-density with ``-inf`` where the value is outside the support or a
parameter constraint fails. It broadcasts value and parameters over their
batch dims (the result has the batch shape, event dims reduced).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tessera.graph.basic import Apply, Variable
from tessera.graph.null import disconnected
from tessera.graph.op import Op
from tessera.ops import math as tm
from tessera.ops.basic import as_tensor
from tessera.ops.elemwise import is_discrete
from tessera.ops.type import shape_str
from tessera.ppl.distributions.base import dist_of, dist_of_op
from tessera.random.op import RandomVariable

CHECK_MODES = ("inf", "raise")


class ParameterValueError(ValueError):
    """A distribution's parameters violate a constraint (``check="raise"``)."""


class CheckParameterValue(Op):
    """Pass ``x`` through, raising :class:`ParameterValueError` if a condition fails.

    Inputs: ``x`` then boolean conditions. Used by ``logp(..., check="raise")``.

    Examples
    --------
    >>> import tessera as ts
    >>> s = ts.scalar("s")
    >>> y = CheckParameterValue("s > 0")(s * 2, s > 0)
    >>> float(y.eval({s: 1.5}))
    3.0
    """

    __props__ = ("msg",)
    # it raises for invalid parameters: NumPy's warnings about computing
    # with them first are noise (see tessera.compile.function.quiet_masked)
    guards_invalid_values = True

    def __init__(self, msg: str):
        self.msg = msg

    def make_node(self, x, *conds) -> Apply:
        x = as_tensor(x)
        conds = [as_tensor(c) for c in conds]
        return Apply(self, [x, *conds], [x.type])

    def perform(self, node, inputs, output_storage):
        x, *conds = inputs
        for c in conds:
            if not np.all(c):
                raise ParameterValueError(f"invalid parameters: {self.msg}")
        output_storage[0][0] = x

    def infer_shape(self, node, input_shapes):
        return [input_shapes[0]]

    def pullback(self, inputs, outputs, cotangents):
        return [cotangents[0]] + [disconnected] * (len(inputs) - 1)

    def vectorize_node(self, node, x, *conds):
        return [self(x, *conds)]


def check_parameters(
    logp: Variable,
    conditions: Sequence[tuple[Variable, str]],
    check: str = "inf",
) -> Variable:
    """Apply parameter constraints to a log-density.

    Parameters
    ----------
    logp : TensorVariable
    conditions : list of (boolean variable, description)
    check : {"inf", "raise"}
        ``"inf"``: ``-inf`` where a condition fails (broadcast with ``logp``);
        ``"raise"``: raise :class:`ParameterValueError` at run time.

    Examples
    --------
    >>> import tessera as ts
    >>> s = ts.scalar("s")
    >>> lp = check_parameters(-ts.log(s), [(s > 0, "s > 0")])
    >>> float(lp.eval({s: -1.0}))
    -inf
    """
    if check not in CHECK_MODES:
        raise ValueError(f"check must be one of {CHECK_MODES}, got {check!r}")
    conds = [c for c, _ in conditions]
    if not conds:
        return logp
    if check == "raise":
        msg = ", ".join(t for _, t in conditions)
        return CheckParameterValue(msg)(logp, *conds)
    ok = conds[0]
    for c in conds[1:]:
        ok = tm.logical_and(ok, c)
    return tm.where(ok, logp, -np.inf)


def _rv_and_value(rv: Variable, value: Any):
    cls = dist_of(rv)
    node = rv.owner
    value = as_tensor(value)
    if not is_discrete(rv) and value.dtype != rv.dtype:
        value = value.astype(rv.dtype)
    nd = node.op.ndim_supp
    core = rv.type.shape[rv.ndim - nd :]
    vcore = value.type.shape[value.ndim - nd :] if value.ndim >= nd else None
    if vcore is None or any(
        a is not None and b is not None and a != b for a, b in zip(core, vcore)
    ):
        raise ValueError(
            f"logp of {cls.__name__}: value of shape {shape_str(value.type.shape)} "
            f"does not have the event shape {shape_str(core)}"
        )
    return cls, node, value


def logp(rv: Variable, value: Any, check: str = "inf") -> Variable:
    """Symbolic log-density (or log-mass) of ``rv`` at ``value``.

    Parameters
    ----------
    rv : TensorVariable
        A draw made by ``ppl.<Distribution>.dist(...)``.
    value : tensor_like
        Broadcasts with the distribution's batch shape; its trailing dims are
        the event dims.
    check : {"inf", "raise"}
        What failed parameter constraints give (see :func:`check_parameters`).

    Returns
    -------
    TensorVariable
        ``-inf`` outside the support. Shape: the broadcast batch shape.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> x = ppl.Normal.dist(0.0, [1.0, 2.0])
    >>> np.round(ppl.logp(x, 0.5).eval(), 4)
    array([-1.0439, -1.6433])
    """
    _, node, value = _rv_and_value(rv, value)
    return op_logp(node.op, value, node.inputs[2:], check)


def logcdf(rv: Variable, value: Any, check: str = "inf") -> Variable:
    """Symbolic log of the cumulative distribution function, ``log P(X <= value)``.

    Univariate distributions only; ``-inf`` below the support, ``0`` above.

    Examples
    --------
    >>> from tessera import ppl
    >>> float(ppl.logcdf(ppl.Normal.dist(0.0, 1.0), 0.0).eval())  # log(0.5)
    -0.6931471805599453
    """
    cls, node, value = _rv_and_value(rv, value)
    if node.op.ndim_supp:
        raise NotImplementedError(f"logcdf of multivariate {cls.__name__}")
    return op_logcdf(node.op, value, node.inputs[2:], check)


def op_logp(op: RandomVariable, value: Variable, params, check: str = "inf"):
    """:func:`logp` of a draw of ``op`` with parameters ``params`` at ``value``.

    For composite distributions (mixtures, truncation) that hold component ops.
    """
    cls = dist_of_op(op)
    lp = cls.node_logp(op, value, params)
    mask = cls.node_support_mask(op, value, params)
    if mask is not None:
        lp = tm.where(mask, lp, -np.inf)
    return check_parameters(lp, cls.node_param_conditions(op, params), check)


def op_logcdf(op: RandomVariable, value: Variable, params, check: str = "inf"):
    """:func:`logcdf` of a draw of ``op`` with parameters ``params`` at ``value``."""
    cls = dist_of_op(op)
    lc = cls.node_logcdf(op, value, params)
    return check_parameters(lc, cls.node_param_conditions(op, params), check)


def moment(rv: Variable) -> Variable:
    """A finite point of ``rv``'s support with its shape (a default initial point).

    Examples
    --------
    >>> from tessera import ppl
    >>> moment(ppl.Gamma.dist(2.0, [1.0, 4.0])).eval()
    array([2. , 0.5])
    """
    from tessera.ops.shape import broadcast_to

    cls = dist_of(rv)
    node = rv.owner
    m = as_tensor(cls.node_moment(node.op, node.inputs[2:]))
    if m.dtype != rv.dtype:
        m = m.astype(rv.dtype)
    return broadcast_to(m, rv.shape)
