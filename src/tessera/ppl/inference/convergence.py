"""Convergence checks after sampling, with PyMC's thresholds.

After :func:`tessera.ppl.sample`, :func:`warn_convergence` reports, as
PyMC does:

* divergences after tuning (how many, and their share of the draws);
* the tree depth saturated in more than 5% of the draws;
* ``r_hat`` above 1.01 (rank-normalized split R-hat; two chains or more);
* a bulk or tail effective sample size under 100 per chain.

Each finding is a :class:`SamplingWarning` (through :mod:`warnings`) and a
WARNING record on the ``tessera.ppl`` logger; ``ppl.sample(...,
compute_convergence_checks=False)`` skips them.

Examples
--------
>>> import numpy as np, arviz as az
>>> idata = az.from_dict(
...     posterior={"x": np.random.default_rng(0).normal(size=(2, 500))},
...     sample_stats={"diverging": np.zeros((2, 500), bool)})
>>> convergence_problems(idata, ["x"], max_treedepth=10)
[]
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from tessera.ppl.inference.diagnostics import convergence_stats

__all__ = ["SamplingWarning", "convergence_problems", "warn_convergence"]

_log = logging.getLogger("tessera.ppl")

#: PyMC's thresholds
RHAT_MAX = 1.01
ESS_PER_CHAIN_MIN = 100
TREEDEPTH_SHARE_MAX = 0.05


class SamplingWarning(UserWarning):
    """The draws may not represent the posterior (divergences, r_hat, ESS).

    Examples
    --------
    >>> issubclass(SamplingWarning, UserWarning)
    True
    """


def _divergences(stats) -> str | None:
    if "diverging" not in stats:
        return None
    div = np.asarray(stats["diverging"])
    n = int(div.sum())
    if n == 0:
        return None
    return (
        f"There were {n} divergences after tuning ({n / div.size:.1%} of "
        f"{div.size} draws). Increase `target_accept` or reparameterize."
    )


def _tree_depth(stats, max_treedepth: int) -> str | None:
    if "reached_max_treedepth" not in stats:
        return None
    hit = np.asarray(stats["reached_max_treedepth"])
    share = float(hit.mean()) if hit.size else 0.0
    if share <= TREEDEPTH_SHARE_MAX:
        return None
    return (
        f"The chains reached the maximum tree depth ({max_treedepth}) in "
        f"{share:.1%} of the draws. Increase `max_treedepth`, increase "
        "`target_accept` or reparameterize."
    )


def _any(values: np.ndarray, test) -> bool:
    values = values[np.isfinite(values)]
    return bool(np.any(test(values)))


def _rhat_ess(posterior, var_names: Sequence[str]) -> list[str]:
    names = [n for n in var_names if n in posterior.data_vars]
    if not names:
        return []
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    limit = ESS_PER_CHAIN_MIN * chains
    high, low = [], []
    for name in names:
        x = np.asarray(posterior[name].transpose("chain", "draw", ...).values)
        r, bulk, tail = convergence_stats(x)
        if chains >= 2 and draws >= 4 and _any(r, lambda r: r > RHAT_MAX):
            high.append(name)
        if _any(bulk, lambda e: e < limit) or _any(tail, lambda e: e < limit):
            low.append(name)
    found = []
    if high:
        found.append(
            f"The rhat statistic is larger than {RHAT_MAX} for some "
            f"parameters ({', '.join(high)}). This indicates problems "
            "during sampling."
        )
    if low:
        found.append(
            f"The effective sample size per chain is smaller than "
            f"{ESS_PER_CHAIN_MIN} for some parameters ({', '.join(sorted(low))}); "
            "draw more samples or reparameterize."
        )
    return found


def convergence_problems(
    idata: Any, var_names: Sequence[str], max_treedepth: int
) -> list[str]:
    """The convergence findings of ``idata``, one message each.

    Parameters
    ----------
    idata : arviz.InferenceData
        With ``posterior`` and ``sample_stats`` as ``ppl.sample`` writes them.
    var_names : list of str
        The variables whose r_hat and ESS are checked (the free RVs).
    max_treedepth : int
        The sampler's maximum tree depth (for the message).

    Returns
    -------
    list of str
    """
    stats = idata.sample_stats if "sample_stats" in idata.groups() else {}
    found = [_divergences(stats), _tree_depth(stats, max_treedepth)]
    found = [m for m in found if m]
    return found + _rhat_ess(idata.posterior, var_names)


def warn_convergence(idata: Any, model: Any, max_treedepth: int) -> list[str]:
    """Warn of each convergence problem of a model's draws; returns them.

    Examples
    --------
    >>> import numpy as np, arviz as az
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x")
    >>> div = np.zeros((2, 500), bool); div[0, :5] = True
    >>> idata = az.from_dict(
    ...     posterior={"x": np.random.default_rng(0).normal(size=(2, 500))},
    ...     sample_stats={"diverging": div})
    >>> with warnings.catch_warnings(record=True):
    ...     found = warn_convergence(idata, m, 10)
    >>> found
    ['There were 5 divergences after tuning (0.5% of 1000 draws). Increase `target_accept` or reparameterize.']
    """
    found = convergence_problems(
        idata, [rv.name for rv in model.free_RVs], max_treedepth
    )
    for message in found:
        _log.warning(message, extra={"warned": True})
        warnings.warn(message, SamplingWarning, stacklevel=3)
    return found
