"""XLA compile options of the programs tessera compiles with JAX.

Every top-level program tessera jits (a JAX-backend function, a sampler, a
variational step) goes through :func:`jit`, which passes
:func:`compiler_options` to :func:`jax.jit`.

On CPU the default turns off XLA's MLIR fusion emitters
(``xla_cpu_use_fusion_emitters=False``) and so compiles fusions with XLA's
older elemental emitter. Measured on a 2-core x86 machine (jaxlib 0.9.2,
``ppl.sample`` of 2 chains x 1000 + 1000, the models of
``benchmarks/inference.py``), compiling the sampler's program went
from 1.4 to 0.7 s on eight schools (memory while compiling +160 -> +28
MB; sampling unchanged), from 1.8 to 1.2 s on radon (+170 -> +30 MB;
sampling 0.45 -> 0.49 s) and from 1.8 to 1.1 s on the hierarchical
MvNormal (+160 -> +29 MB; sampling 0.75 -> 1.0 s),
so a first call is faster end to end and compiling takes a fifth of the
memory, while a long run of a model heavy in small linear algebra samples
up to a third slower. The older emitter's compile time grows with the
program's size where the fusion emitters' grows more slowly: one program
drawing from 40 distributions (the table of
``tests/compile/backends/test_jax_random.py``, 2000 draws each) compiled
in 17-19 s against 9-11 s with XLA's defaults (2026-12-07, same machine),
while each distribution's program alone compiled a little faster.

The CPU default also turns on region analysis in XLA's copy insertion
(``xla_cpu_copy_insertion_use_region_analysis=True``). Without it XLA
copies many of a ``while`` loop's state buffers at the start of every
iteration (37 copies in the lanes NUTS program of ``sample_many``, 13
with it), each a kernel call of its own; the results are the same, bit
for bit. Warm ``ppl.sample`` (2 x 1000 + 1000, medians of 3 fresh
processes x 5 runs, 2026-12-07, same machine): eight schools 0.171 ->
0.156 s, radon 0.612 -> 0.580 s, the hierarchical MvNormal 1.56 -> 1.54
s; ``sample_many`` of 100 eight-schools datasets, warm: 6.2 -> 6.0 s.

Set ``tessera.config.jax_compiler_options = {}`` for
XLA's own defaults (long runs of such models), or to any dict of XLA
options; functions jitted before the change keep their options. On
other platforms (GPU) the default is XLA's own.

Examples
--------
>>> import jax.numpy as jnp
>>> from tessera.compile.backends.jax.options import jit
>>> round(float(jit(lambda x: jnp.sin(x) ** 2 + jnp.cos(x) ** 2)(0.3)), 12)
1.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from tessera.compile.backends.registry import installed_version
from tessera.config import CompilerOptionsError

__all__ = ["compiler_options", "jit"]

#: tessera's default on CPU (module docstring)
CPU_DEFAULTS = {
    "xla_cpu_use_fusion_emitters": False,
    "xla_cpu_copy_insertion_use_region_analysis": True,
}

#: jaxlib releases from this one on accept :data:`CPU_DEFAULTS` (the tests
#: check the installed one); older ones are asked by compiling a one-op
#: program (30 ms)
KNOWN_FROM = (0, 9)

_resolved: dict[str, dict] = {}


def _supported(options: dict) -> bool:
    """Whether this jaxlib accepts ``options`` (older releases lack the
    fusion emitters and reject the option by name)."""
    try:
        jax.jit(lambda x: x + 1, compiler_options=options).lower(1.0).compile()
    except Exception:  # noqa: BLE001 - jaxlib raises its own runtime error
        return False
    return True


#: option sets checked already (by repr), with XLA's error or None
_checked: dict[str, str | None] = {}


def _check(options: dict) -> None:
    """Raise :class:`CompilerOptionsError` when XLA rejects ``options``
    (checked once per set, by compiling a one-op program)."""
    key = repr(sorted(options.items()))
    if key not in _checked:
        try:
            jax.jit(lambda x: x + 1, compiler_options=options).lower(1.0).compile()
        except Exception as error:  # noqa: BLE001 - jaxlib raises its own error
            _checked[key] = str(error)
        else:
            _checked[key] = None
    if _checked[key] is not None:
        raise CompilerOptionsError(
            f"tessera.config.jax_compiler_options = {options!r}: XLA rejects "
            f"them ({_checked[key]}); set XLA's option names (see the "
            "module notes of tessera.compile.backends.jax.options), {} for "
            "XLA's defaults or None for tessera's"
        )


def compiler_options() -> dict[str, Any]:
    """The XLA options tessera compiles its JAX programs with.

    ``tessera.config.jax_compiler_options`` when set (a dict), else
    :data:`CPU_DEFAULTS` on CPU where this jaxlib knows them, else none.

    Raises
    ------
    CompilerOptionsError
        The options set in the config are ones XLA rejects.

    Examples
    --------
    >>> from tessera.compile.backends.jax.options import compiler_options
    >>> isinstance(compiler_options(), dict)
    True
    """
    from tessera.config import config

    chosen = config.jax_compiler_options
    if chosen is not None:
        chosen = dict(chosen)
        _check(chosen)
        return chosen
    backend = jax.default_backend()
    if backend not in _resolved:
        ok = backend == "cpu" and (
            (installed_version("jaxlib") or ()) >= KNOWN_FROM
            or _supported(CPU_DEFAULTS)
        )
        _resolved[backend] = dict(CPU_DEFAULTS) if ok else {}
    return dict(_resolved[backend])


def jit(fun: Callable, **kwargs: Any) -> Callable:
    """:func:`jax.jit` with :func:`compiler_options`, for top-level
    programs only: JAX refuses options on a jit called inside another
    program's trace (which compiles with the outer program's options).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from tessera.compile.backends.jax.options import jit
    >>> jit(jnp.add)(1.0, 2.0).item()
    3.0
    """
    return jax.jit(fun, compiler_options=compiler_options() or None, **kwargs)
