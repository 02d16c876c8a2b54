"""Transforms as objects, as ``pymc.distributions.transforms`` offers them.

Use them as ``transform=`` (applied after the distribution's default
transform, as in PyMC, or instead of a default of the same kind) or
``default_transform=`` (replacing the default; ``None`` disables it) of any
distribution in a model:

>>> from tessera import ppl
>>> from tessera.ppl.distributions import transforms
>>> with ppl.Model() as m:
...     mu = ppl.Normal(
...         "mu", 0, 1, shape=3, transform=transforms.ordered, initval=[-1, 0, 1]
...     )
>>> m.rvs_to_transforms[mu]
OrderedTransform()

Instances (lower case) are ready to use; classes (capitalized) take
parameters (``Interval(lower, upper)``, ``ZeroSumTransform(n_zerosum_axes)``,
``CholeskyCovPacked(n)``). They are the transforms of
:mod:`tessera.ppl.transforms` under PyMC's names.
"""

from __future__ import annotations

from tessera.ppl.transforms import (
    Chain,
    CholeskyCorrTransform,
    CholeskyCovTransform,
    CircularTransform,
    IntervalTransform,
    LogExpM1Transform,
    LogOddsTransform,
    LogTransform,
    LowerBoundTransform,
    OrderedTransform,
    SimplexTransform,
    SumTo1Transform,
    Transform,
    UpperBoundTransform,
    ZeroSumTransform,
)

__all__ = [
    "Chain",
    "ChainedTransform",
    "CholeskyCorr",
    "CholeskyCovPacked",
    "Circular",
    "Interval",
    "LogExpM1",
    "LogOdds",
    "LowerBound",
    "Ordered",
    "Simplex",
    "SumTo1",
    "Transform",
    "UpperBound",
    "ZeroSumTransform",
    "circular",
    "log",
    "log_exp_m1",
    "logodds",
    "ordered",
    "simplex",
    "sum_to_1",
]

#: PyMC's name of :class:`~tessera.ppl.transforms.Chain`
ChainedTransform = Chain
#: ``Interval(lower, upper)``; either bound may be None
Interval = IntervalTransform
LowerBound = LowerBoundTransform
UpperBound = UpperBoundTransform
Ordered = OrderedTransform
SumTo1 = SumTo1Transform
Simplex = SimplexTransform
LogOdds = LogOddsTransform
LogExpM1 = LogExpM1Transform
Circular = CircularTransform
#: the transform of ``LKJCholeskyCov`` values (``CholeskyCovPacked(n)``): the
#: lower triangle packed into a vector, the log of the diagonal
CholeskyCovPacked = CholeskyCovTransform
CholeskyCorr = CholeskyCorrTransform

log = LogTransform()
logodds = LogOddsTransform()
simplex = SimplexTransform()
ordered = OrderedTransform()
sum_to_1 = SumTo1Transform()
circular = CircularTransform()
log_exp_m1 = LogExpM1Transform()
