"""Backends as objects: a name, a linker, rewrite exclusions, capabilities.

``tessera.function(..., backend=)`` takes a backend's name or a
:class:`Backend`. Everything that differs between backends is a field of
its object: the package holding the linker (imported on first use, so
``import tessera`` does not import JAX), the rewrite tags the backend does
not run, and what its compiled functions can do. Code above the compile
layer (``tessera.ppl``) asks for a capability (``backend.traceable``)
instead of comparing names, and registers its own lowerings with
:meth:`Backend.on_load`, which runs a hook once the backend's package is
imported, whichever is imported first.

Examples
--------
>>> from tessera.compile.backends import get_backend
>>> jax_backend = get_backend("jax")
>>> jax_backend.traceable, jax_backend.fork_safe
(True, False)
>>> get_backend("numpy").exclude
()
"""

from __future__ import annotations

import importlib
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any


@dataclass(eq=False)
class Backend:
    """One way to run a rewritten graph.

    Parameters
    ----------
    name : str
        What users pass as ``backend=``.
    package : str
        The module that holds the linker; imported on first use.
    linker : str
        The name in ``package`` of ``link(fg, inputs, n_outputs, targets,
        single) -> (callable, source)``.
    exclude : tuple of str
        Tags of rewrites this backend does not run.
    traceable : bool
        Compiled functions have a pure form
        (:attr:`tessera.compile.Function.traceable`) that traces into a
        larger JAX program.
    fork_safe : bool
        A compiled function keeps working in a process forked after it was
        compiled (JAX's thread pools do not survive a fork).
    host_arrays : bool
        Results are NumPy arrays (else device arrays, which ``np.asarray``
        converts).
    x64 : bool
        The backend needs a process-wide switch to compute in float64 (JAX's
        ``jax_enable_x64``; its package turns it on when imported).
    requires : tuple of str
        The installed distributions (pip names) it needs.
    broken : tuple of KnownBug
        Releases of those distributions it must not run on.

    Examples
    --------
    >>> b = Backend("mine", package="tessera.compile.backends.numpy",
    ...             linker="numpy_link")
    >>> b.name, b.traceable, b == "mine"
    ('mine', False, True)
    """

    name: str
    package: str
    linker: str
    exclude: tuple[str, ...] = ()
    traceable: bool = False
    fork_safe: bool = True
    host_arrays: bool = True
    x64: bool = False
    requires: tuple[str, ...] = ()
    broken: tuple[KnownBug, ...] = ()
    _hooks: list[Callable[[Backend], Any]] = field(default_factory=list, repr=False)
    _loaded: bool = field(default=False, repr=False)

    def __eq__(self, other: object) -> bool:
        # like np.dtype("float64") == "float64": a backend equals its name
        if isinstance(other, str):
            return other == self.name
        return self is other

    def __hash__(self) -> int:
        return hash(self.name)

    def __str__(self) -> str:
        return self.name

    def problem(self) -> str | None:
        """Why this backend cannot run here, or None when it can.

        Reads the installed versions of :attr:`requires` without importing
        them: a missing distribution, or a release listed in
        :attr:`broken`.

        Examples
        --------
        >>> get_backend("numpy").problem() is None
        True
        """
        for dist in self.requires:
            if installed_version(dist) is None:
                return (
                    f"the {self.name} backend needs {dist!r}, which is not "
                    f"installed (pip install {dist})"
                )
        for bug in self.broken:
            found = bug.affects()
            if found:
                return found
        return None

    def load(self) -> ModuleType:
        """Import the backend's package (running its load hooks) and return it."""
        module = importlib.import_module(self.package)
        self.loaded()
        return module

    def link(self, fg, inputs, n_outputs: int, targets, single: bool):
        """Turn a rewritten graph into ``(callable, source)`` (see ``linker``)."""
        return getattr(self.load(), self.linker)(fg, inputs, n_outputs, targets, single)

    def on_load(self, hook: Callable[[Backend], Any]) -> None:
        """Run ``hook(self)`` once the backend's package is imported.

        At once if it already is. A package above the compile layer
        registers its lowerings for this backend this way, without
        importing the backend (or JAX) itself.
        """
        if self._loaded:
            hook(self)
        else:
            self._hooks.append(hook)

    def loaded(self) -> None:
        """Called at the end of the backend package's import: run pending hooks."""
        self._loaded = True
        hooks, self._hooks = self._hooks, []
        for hook in hooks:
            hook(self)


_VERSION_LINE = re.compile(r"^Version:[ \t]*(\S+)", re.MULTILINE)


def installed_version(dist: str) -> tuple[int, ...] | None:
    """The release numbers of installed distribution ``dist`` (None if absent).

    Examples
    --------
    >>> installed_version("numpy")[0] >= 2
    True
    >>> installed_version("no-such-distribution") is None
    True
    """
    try:
        found = metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return None
    # the Version line of the METADATA file, read as text: parsing it as an
    # e-mail message (``Distribution.version``) imports the email package
    # (0.1 s when importlib_metadata's finder is installed, as dask's
    # imports do) on the first inference call
    text = found.read_text("METADATA") or found.read_text("PKG-INFO") or ""
    line = _VERSION_LINE.search(text.split("\n\n", 1)[0])  # the header
    text = line.group(1) if line else (found.version or "")
    parts = []
    for piece in text.split("."):
        digits = "".join(itertools.takewhile(str.isdigit, piece))
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


@dataclass(frozen=True)
class KnownBug:
    """Releases ``[first, stop)`` of ``dist`` on which a backend misbehaves.

    Examples
    --------
    >>> bug = KnownBug("numpy", (0,), (1,), "too old", "pip install -U numpy")
    >>> bug.affects() is None
    True
    """

    dist: str
    first: tuple[int, ...]
    stop: tuple[int, ...]
    what: str
    fix: str

    def affects(self) -> str | None:
        """The problem, naming the installed release, or None if unaffected."""
        found = installed_version(self.dist)
        if found is None or not (self.first <= found < self.stop):
            return None
        release = ".".join(map(str, found))
        return f"{self.dist} {release} is installed: {self.what} ({self.fix})"


_REGISTRY: dict[str, Backend] = {}


def register_backend(backend: Backend) -> Backend:
    """Make ``backend`` available by name to ``tessera.function``.

    Examples
    --------
    >>> from tessera.compile.backends import registry
    >>> b = register_backend(Backend("numpy-copy", "tessera.compile.backends.numpy",
    ...                              "numpy_link"))
    >>> get_backend("numpy-copy") is b
    True
    >>> del registry._REGISTRY["numpy-copy"]
    """
    _REGISTRY[backend.name] = backend
    return backend


def get_backend(backend: str | Backend) -> Backend:
    """The :class:`Backend` called ``backend`` (a Backend is returned as is).

    Examples
    --------
    >>> get_backend("numpy").name
    'numpy'
    >>> get_backend("torch")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown backend 'torch'; choose one of ('numpy', 'jax'...)
    """
    if isinstance(backend, Backend):
        return backend
    try:
        return _REGISTRY[backend]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown backend {backend!r}; choose one of {backend_names()}"
        ) from None


def backend_names() -> tuple[str, ...]:
    """Names of the registered backends.

    Examples
    --------
    >>> backend_names()[:2]
    ('numpy', 'jax')
    """
    return tuple(_REGISTRY)


NUMPY = register_backend(
    Backend("numpy", package="tessera.compile.backends.numpy", linker="numpy_link")
)
JAX = register_backend(
    Backend(
        "jax",
        package="tessera.compile.backends.jax",
        linker="jax_link",
        # see tessera.rewrite.linalg_pullback: XLA:CPU deadlocked with it
        exclude=("independent_lapack",),
        traceable=True,
        fork_safe=False,
        host_arrays=False,
        x64=True,
        requires=("jax", "jaxlib"),
        broken=(
            KnownBug(
                "jaxlib",
                (0, 10, 0),
                (0, 11),
                "its CPU runtime hangs when one program holds two independent "
                "batched LAPACK calls (see docs/jax-lapack-hang.md)",
                "pip install 'jax<0.10' 'jaxlib<0.10'",
            ),
        ),
    )
)
