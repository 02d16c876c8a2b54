"""tessera.ppl on the JAX backend: samplers and lowerings of the ppl's ops.

Registered with the JAX backend's registries by op class
(``@jax_sample.register(NormalRV)``, ``@jax_funcify.register(RangeReduce)``)
when this package is imported, which :mod:`tessera.ppl` arranges through
``get_backend("jax").on_load``: importing :mod:`tessera.ppl` does not
import JAX, and the JAX backend does not import :mod:`tessera.ppl`.

The modules mirror :mod:`tessera.ppl.distributions`: the JAX sampler of a
distribution defined in ``distributions/<path>.py`` is in
``ppl/jax/<path>.py`` (e.g. ``MvNormal``: ``multivariate/normal.py``);
:mod:`.draws` holds the building blocks they share, :mod:`.inner` the inner
graphs of the lowerings that loop. Every distribution has a sampler, except
the improper ``Flat`` and ``HalfFlat``, which have no draws (an error at
compile time, as NumPy raises at run time).
"""

from tessera.ppl.jax import (  # noqa: F401  (registrations)
    censored,
    continuous,
    discrete,
    dist_math,
    logprob,
    matrix,
    mixture,
    multivariate,
    range_sum,
    timeseries,
    truncated,
)
