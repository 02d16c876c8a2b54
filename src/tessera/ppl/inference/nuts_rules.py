"""Which sampler runs ``ppl.sample``, and which combinations it refuses.

One rule set (:data:`_RULES`) checks the combination of backend, sampler,
chain method and sampler options a user asked for, asking the backend's
capabilities (``traceable``, ``fork_safe``), not its name; the first rule
broken raises its error.

Examples
--------
>>> from tessera.compile.backends import get_backend
>>> choose_sampler(get_backend("numpy"), None, "threads", {})
'nutpie'
>>> choose_sampler(get_backend("numpy"), "blackjax", "threads", {})
Traceback (most recent call last):
...
ValueError: nuts_sampler='blackjax' runs the sampler inside JAX and needs backend='jax', got backend='numpy'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tessera.compile.backends import Backend

__all__ = ["choose_sampler"]

_SAMPLERS = ("nutpie", "blackjax")
_CHAIN_METHODS = ("threads", "processes", "vectorized")
#: the ``nuts_sampler_kwargs`` each driver accepts
_OPTIONS = {
    "blackjax": frozenset(),
    "nutpie": frozenset(
        {
            "max_energy_error",
            "low_rank_modified_mass_matrix",
            "mass_matrix_eigval_cutoff",
            "mass_matrix_gamma",
            "mass_matrix_switch_freq",
            "early_window_switch_freq",
            "window_switch_freq",
            "use_grad_based_mass_matrix",
        }
    ),
}
#: PyMC's samplers tessera does not run, and what to use instead
_OTHER_SAMPLERS = ("pymc", "numpyro")


@dataclass(frozen=True)
class _Choice:
    """What the user asked for: sampler, backend, chain method, options."""

    sampler: str
    backend: Backend
    chain_method: str
    options: frozenset[str]


@dataclass(frozen=True)
class _Rule:
    """A combination :func:`sample` refuses: when ``broken``, raise ``error``."""

    broken: Callable[[_Choice], bool]
    error: Callable[[_Choice], Exception]


#: Checked in order; the first broken rule raises.
_RULES = (
    _Rule(
        lambda c: c.sampler in _OTHER_SAMPLERS,
        lambda c: NotImplementedError(
            f"ppl.sample: nuts_sampler={c.sampler!r} is not available in tessera; "
            "leave it out for the default (BlackJAX's NUTS compiled with the "
            "model when it lowers to JAX, else nutpie), or choose 'blackjax' or "
            "'nutpie'"
        ),
    ),
    _Rule(
        lambda c: c.sampler not in _SAMPLERS,
        lambda c: ValueError(
            f"nuts_sampler must be 'nutpie' or 'blackjax', got {c.sampler!r}"
        ),
    ),
    # BlackJAX traces the log-density into its own JAX program
    _Rule(
        lambda c: c.sampler == "blackjax" and not c.backend.traceable,
        lambda c: ValueError(
            "nuts_sampler='blackjax' runs the sampler inside JAX and needs "
            f"backend='jax', got backend={c.backend.name!r}"
        ),
    ),
    _Rule(
        lambda c: bool(c.options - _OPTIONS[c.sampler]),
        lambda c: TypeError(
            f"ppl.sample: nuts_sampler_kwargs has {sorted(c.options - _OPTIONS[c.sampler])}"
            f", which the {c.sampler} sampler does not take; it takes "
            f"{sorted(_OPTIONS[c.sampler])}"
        ),
    ),
    _Rule(
        lambda c: c.chain_method not in _CHAIN_METHODS,
        lambda c: ValueError(
            "chain_method must be 'threads', 'processes' or 'vectorized', got "
            f"{c.chain_method!r}"
        ),
    ),
    _Rule(
        lambda c: c.chain_method == "vectorized" and c.sampler != "blackjax",
        lambda c: ValueError(
            "chain_method='vectorized' runs the chains in one JAX program: it "
            "needs nuts_sampler='blackjax' (backend='jax')"
        ),
    ),
    # forked processes inherit the compiled function
    _Rule(
        lambda c: c.chain_method == "processes" and not c.backend.fork_safe,
        lambda c: ValueError(
            f"chain_method='processes' forks the sampler, which the "
            f"{c.backend.name!r} backend does not survive; use the numpy backend "
            "or threads"
        ),
    ),
)


def choose_sampler(chosen: Backend, nuts_sampler, chain_method, options) -> str:
    """The sampler for ``chosen``, once the choice has passed every rule."""
    if nuts_sampler is None:
        # a backend that traces into JAX runs best with the sampler inside JAX
        nuts_sampler = "blackjax" if chosen.traceable else "nutpie"
    choice = _Choice(nuts_sampler, chosen, chain_method, frozenset(options))
    for rule in _RULES:
        if rule.broken(choice):
            raise rule.error(choice)
    return nuts_sampler
