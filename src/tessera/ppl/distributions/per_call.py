"""Distributions whose sampler op is built per call (Mixture, Censored, CustomDist).

Their draw dtype depends on the arguments (a mixture of Poissons is
discrete, of normals continuous), so it is not a class attribute the model
can read before it builds the variable. :class:`PerCallDistribution` asks
the arguments instead (:meth:`PerCallDistribution._draw_dtype`) and converts
array ``observed`` data to that dtype before the model sees them.
"""

from __future__ import annotations

from typing import Any

from tessera.graph.basic import Variable
from tessera.ppl.distributions.base import Distribution

#: keywords of ``Dist("name", ...)`` that the model takes, not ``.dist``
MODEL_KEYWORDS = frozenset(
    {"dims", "shape", "size", "transform", "initval", "total_size", "rng"}
)


class PerCallDistribution(Distribution):
    """Base of distributions whose op is built by each ``.dist`` call.

    Examples
    --------
    >>> import numpy as np
    >>> from tessera import ppl
    >>> with ppl.Model():
    ...     y = ppl.Mixture(
    ...         "y", [0.5, 0.5], ppl.Poisson.dist([1.0, 5.0]), observed=[0.0, 3.0]
    ...     )
    >>> y.dtype
    'int64'
    """

    def __new__(cls, name: str, *args: Any, observed: Any = None, **kwargs: Any):
        if observed is not None and not isinstance(observed, Variable):
            from tessera.ppl.model.values import observed_array

            probe_kwargs = {k: v for k, v in kwargs.items() if k not in MODEL_KEYWORDS}
            try:
                dtype = cls._draw_dtype(*args, **probe_kwargs)
            except (ValueError, TypeError) as err:
                raise type(err)(f"variable {name!r}: {err}") from err
            observed, _ = observed_array(name, observed, dtype, cls.__name__)
        return super().__new__(cls, name, *args, observed=observed, **kwargs)

    @classmethod
    def _draw_dtype(cls, *args: Any, **kwargs: Any) -> str:
        """The dtype of ``cls.dist(*args, **kwargs)`` (by building it)."""
        return cls.dist(*args, **kwargs).dtype
