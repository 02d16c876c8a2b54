"""What ``ppl.sample`` returns beyond the draws: PyMC's ``var_names`` and
``idata_kwargs``.

:func:`check_outputs` checks the requests before anything is compiled or
sampled (a misspelt name fails in milliseconds, not after the sampler ran);
:func:`finish_idata` applies them to the InferenceData built from the
draws: the ``log_likelihood`` group, the value variables of the
unconstrained space (``include_transformed``), and the variables kept.

Examples
--------
>>> import numpy as np
>>> from tessera import ppl
>>> with ppl.Model() as model:
...     mu = ppl.Normal("mu", 0.0, 1.0)
...     y = ppl.Normal("y", mu, 1.0, observed=np.zeros(3))
>>> check_outputs(model, ["mu"], {"log_likelihood": True})
>>> check_outputs(model, ["nu"], None)
Traceback (most recent call last):
...
KeyError: "ppl.sample: var_names has 'nu', which is not a free variable or deterministic of the model ['mu']"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["check_outputs", "finish_idata"]

#: the ``idata_kwargs`` keys ``ppl.sample`` takes
IDATA_KWARGS = ("log_likelihood", "include_transformed")


def _kept(model: Any) -> list[str]:
    return [v.name for v in list(model.free_RVs) + list(model.deterministics)]


def check_outputs(
    model: Any, var_names: Sequence[str] | None, idata_kwargs: Mapping | None
) -> None:
    """Raise for ``var_names`` or ``idata_kwargs`` that ``sample`` cannot honour.

    Raises
    ------
    KeyError
        A name that is not a free variable or deterministic (``var_names``)
        or not an observed variable (``log_likelihood``).
    TypeError
        An ``idata_kwargs`` key ``sample`` does not take.
    """
    if var_names is not None:
        if isinstance(var_names, str):
            raise TypeError("ppl.sample: var_names must be a list of names, not a str")
        kept = _kept(model)
        for n in var_names:
            if n not in kept:
                raise KeyError(
                    f"ppl.sample: var_names has {n!r}, which is not a free variable "
                    f"or deterministic of the model {kept}"
                )
    kwargs = dict(idata_kwargs or {})
    unknown = sorted(set(kwargs) - set(IDATA_KWARGS))
    if unknown:
        raise TypeError(
            f"ppl.sample: idata_kwargs has {unknown}; it takes {list(IDATA_KWARGS)} "
            "(coords and dims come from the model)"
        )
    ll = kwargs.get("log_likelihood", False)
    if not isinstance(ll, bool):
        observed = [v.name for v in model.observed_RVs]
        for n in ll:
            if n not in observed:
                raise KeyError(
                    f"ppl.sample: idata_kwargs['log_likelihood'] has {n!r}, which is "
                    f"not an observed variable of the model {observed}"
                )


def finish_idata(
    idata: Any,
    model: Any,
    var_names: Sequence[str] | None,
    idata_kwargs: Mapping | None,
    flat_draws: np.ndarray | None = None,
):
    """``idata`` with the groups and variables ``var_names`` and
    ``idata_kwargs`` ask for (see :func:`check_outputs`).

    ``flat_draws`` (``(chain, draw, n)`` on the unconstrained space) gives
    the value variables for ``include_transformed``.
    """
    kwargs = dict(idata_kwargs or {})
    ll = kwargs.get("log_likelihood", False)
    if ll is not False and model.observed_RVs:
        from tessera.ppl.model.predictive import compute_log_likelihood

        names = None if ll is True else list(ll)
        compute_log_likelihood(idata, model=model, var_names=names)
    if kwargs.get("include_transformed") and flat_draws is not None:
        _add_value_vars(idata, model, flat_draws)
    if var_names is not None:
        drop = [n for n in _kept(model) if n not in var_names]
        for group in ("posterior", "warmup_posterior"):
            if group in idata.groups():
                setattr(idata, group, getattr(idata, group).drop_vars(drop))
    return idata


def _add_value_vars(idata: Any, model: Any, flat: np.ndarray) -> None:
    """The unconstrained value variables (``"sigma_log__"``) of transformed
    free variables, next to them in the posterior."""
    layout = model.flat_layout()
    lead = flat.shape[:2]
    posterior = idata.posterior
    for name, sl, shape in zip(layout.names, layout.slices, layout.shapes):
        if name in posterior:
            continue  # untransformed: the value variable is the variable
        values = flat[..., sl].reshape(*lead, *shape)
        dims = ["chain", "draw"] + [f"{name}_dim_{k}" for k in range(len(shape))]
        posterior[name] = (dims, values)
