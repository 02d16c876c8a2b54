"""Which backend runs a model: ``backend="auto"``, the default of inference.

``ppl.sample``, ``ppl.fit``, ``ppl.find_MAP`` and the predictive samplers
compile the model once. With ``backend="auto"`` they compile it for the JAX
backend (one compiled program, see :mod:`tessera.compile.backends.jax`)
when it can run here and every op of the model lowers to it, and for the
NumPy backend otherwise; one INFO line on the ``tessera.ppl`` logger says
which, and on a fallback why (the op without a JAX lowering, JAX missing,
or a jaxlib release known to hang). ``"numpy"`` and ``"jax"`` force a
backend; a forced ``"jax"`` that cannot run raises.

Examples
--------
>>> from tessera.compile.backends import get_backend
>>> built, backend = compile_with("numpy", lambda b: b.name, "an example")
>>> built, backend.name
('numpy', 'numpy')
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from tessera.compile.backends import Backend, get_backend
from tessera.config import CompilerOptionsError

__all__ = [
    "AUTO",
    "BackendUnavailableError",
    "compile_logp_dlogp",
    "compile_with",
    "requested",
]

#: the default ``backend=`` of the inference functions
AUTO = "auto"

_log = logging.getLogger("tessera.ppl")

T = TypeVar("T")


class BackendUnavailableError(RuntimeError):
    """A backend asked for explicitly cannot run here (not installed, or a
    release known to misbehave).

    Examples
    --------
    >>> issubclass(BackendUnavailableError, RuntimeError)
    True
    """


def _lowering_error() -> type[Exception]:
    # JAX's lowering errors live in its backend package (importing it imports
    # JAX): only reached once that backend is in use
    from tessera.compile.backends.jax.dispatch import JaxLoweringError

    return JaxLoweringError


def _why_not(error: Exception) -> str:
    """The fallback's reason, from the error the JAX build raised."""
    if isinstance(error, _lowering_error()):
        return str(error).split(" (register one", 1)[0]
    return f"{type(error).__name__}: {error}"


def compile_with(
    backend: str | Backend, build: Callable[[Backend], T], what: str
) -> tuple[T, Backend]:
    """``build(backend)``, with ``"auto"`` choosing the backend.

    Parameters
    ----------
    backend : {"auto", "numpy", "jax"} or Backend
    build : callable
        Compiles (and may probe) the model for a backend; an error it raises
        on the JAX backend under ``"auto"`` makes the choice fall back to
        NumPy (an error NumPy also raises then propagates).
    what : str
        The step, for the log line (``"ppl.sample"``).

    Returns
    -------
    (built, Backend)
        What ``build`` returned and the backend it ran for.

    Raises
    ------
    BackendUnavailableError
        A backend forced by name that cannot run here.

    Examples
    --------
    >>> def build(b):
    ...     if b.name == "jax":
    ...         raise NotImplementedError("no lowering for op Mine")
    ...     return "compiled"
    >>> built, b = compile_with("auto", build, "an example")
    >>> built, b.name
    ('compiled', 'numpy')
    """
    if not (isinstance(backend, str) and backend == AUTO):
        chosen = get_backend(backend)
        problem = chosen.problem()
        if problem is not None:
            raise BackendUnavailableError(f"{what}: {problem}")
        return build(chosen), chosen
    jax = get_backend("jax")
    reason = jax.problem()
    if reason is None:
        try:
            built = build(jax)
        except CompilerOptionsError:
            raise  # a setting to fix, not a model the JAX backend cannot run
        except Exception as error:  # noqa: BLE001 - reported, then NumPy runs
            reason = _why_not(error)
        else:
            _log.info("%s: JAX backend (one compiled program)", what)
            return built, jax
    numpy = get_backend("numpy")
    built = build(numpy)  # an error of the model itself propagates from here
    _log.info("%s: NumPy backend (the JAX backend cannot run it: %s)", what, reason)
    return built, numpy


def requested(backend: Any, **needs: bool) -> Any:
    """``backend``, or the one an ``"auto"`` choice must be for the options.

    ``needs`` maps a backend name to whether an explicit option requires it
    (``jax=nuts_sampler == "blackjax"``); ``"auto"`` stays when none does.

    Examples
    --------
    >>> requested("auto", numpy=True), requested("auto", jax=False)
    ('numpy', 'auto')
    """
    if isinstance(backend, str) and backend == AUTO:
        for name, needed in needs.items():
            if needed:
                return name
    return backend


def compile_logp_dlogp(model: Any, backend: Any, what: str, jacobian: bool = True):
    """The model's flat log-density and gradient
    (:class:`~tessera.ppl.model.flat.FlatLogpDlogp`) for ``backend``, with
    ``"auto"`` choosing it.

    On a backend that traces into JAX the function is traced and lowered
    once (not compiled: XLA compiles it with the sampler or the optimizer
    that calls it), so that a model that compiles but fails to lower falls
    back here, not mid-inference (a starting value outside the support is
    reported later, by the caller, naming its terms).

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x")
    >>> f, b = compile_logp_dlogp(m, "numpy", "an example")
    >>> f.size, b.name
    (1, 'numpy')
    """

    # compiled once per model, backend request and jacobian while the
    # model's variables are the same ones (shared data is read at call time)
    key = (backend if isinstance(backend, str) else backend.name, bool(jacobian))

    def build(chosen: Backend):
        f = model.logp_dlogp_function(jacobian=jacobian, backend=chosen)
        if chosen.traceable:
            import jax

            # traced and lowered (platform lowering rules run), not compiled
            x = jax.ShapeDtypeStruct((f.size,), "float64")
            jax.jit(f.fn.traceable).lower(x)
        return f

    return cached_on_model(
        model,
        "_compiled_logp_dlogp",
        key,
        lambda: compile_with(backend, build, what),
        what,
    )


def cached_on_model(model: Any, slot: str, key: Any, make: Callable, what: str | None):
    """``make()`` (a ``(built, Backend)`` pair), kept in ``model`` under
    ``slot`` and ``key`` while the model's variables are the same ones (a
    model changed since gets a new one); a hit is logged as ``what``'s
    backend unless ``what`` is None.

    Examples
    --------
    >>> from tessera import ppl
    >>> with ppl.Model() as m:
    ...     x = ppl.Normal("x")
    >>> calls = []
    >>> make = lambda: (calls.append(1) or "built", get_backend("numpy"))
    >>> a = cached_on_model(m, "_example", "k", make, "an example")
    >>> b = cached_on_model(m, "_example", "k", make, "an example")
    >>> a == b, len(calls)
    (True, 1)
    """
    cache = model.__dict__.setdefault(slot, {})
    variables = tuple(model.named_vars.values())
    hit = cache.get(key)
    if hit is not None and len(hit[0]) == len(variables):
        if all(a is b for a, b in zip(hit[0], variables)):
            built, chosen = hit[1]
            if what is not None:
                _log.info("%s: %s backend (compiled earlier)", what, _label(chosen))
            return built, chosen
    built = make()
    cache[key] = (variables, built)
    return built


def _label(backend: Backend) -> str:
    return "JAX" if backend.name == "jax" else "NumPy"
