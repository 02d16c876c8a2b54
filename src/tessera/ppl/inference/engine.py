"""The optimization loop shared by every variational method.

An :class:`Inference` owns an approximation (whose parameters are tessera
shared variables) and an optimizer. A subclass gives its objective as a
graph of one input ``eps`` (the step's standard-normal draws, drawn by
NumPy in blocks so that every backend sees the same stream): the value to
record (the ELBO, or the particles' mean log-density for SVGD) and the
gradients of a loss to *minimize* with respect to the parameters. One
compiled function takes a whole step: the optimizer's updates of the
parameters and of its own state are its updates.

On a traceable backend (JAX), the step is also compiled as a pure function
of the parameters and optimizer state, and a jitted :func:`jax.lax.scan`
runs ``chunk`` steps per call (steps past the chunk's active length leave
the state unchanged, so one program serves every chunk); the parameters
are written back to their shared variables after each chunk. Callbacks run
after each chunk for each of its steps; the chunk is as long as the
callbacks allow (``callback.every``; 1 for a callable without it).

A non-finite recorded value stops the fit with :class:`NonFiniteELBOError`,
which names the iteration, the parameters that became non-finite and the
model's terms whose log-density is not finite at the offending draw.

Examples
--------
>>> import numpy as np
>>> from tessera import ppl
>>> with ppl.Model() as m:
...     x = ppl.Normal("x", 1.0, 1.0)
>>> inference = ppl.ADVI(model=m, random_seed=0, backend="numpy")
>>> isinstance(inference, Inference)
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tessera.compile.backends import Backend
from tessera.ppl.backend import compile_with

__all__ = ["Inference", "NonFiniteELBOError", "entropy_seed"]

#: steps per compiled call on a traceable backend without callbacks
CHUNK = 250


class NonFiniteELBOError(FloatingPointError):
    """The ELBO became non-finite; the approximation holds the last finite state.

    Attributes
    ----------
    iteration : int
        The iteration (0-based, over this fit) whose ELBO was not finite.
    approx : Approximation
        Restored to the parameters of the last iteration with a finite ELBO.
    terms : str
        The model's log-density terms that are not finite at the offending
        draw (from :func:`~tessera.ppl.inference.start.bad_terms`).

    Examples
    --------
    >>> issubclass(NonFiniteELBOError, FloatingPointError)
    True
    """

    def __init__(
        self, message: str, iteration: int, approx: Any, terms: str = ""
    ) -> None:
        super().__init__(message)
        self.iteration = iteration
        self.approx = approx
        self.terms = terms


def entropy_seed(random_seed: Any):
    """Entropy for :class:`numpy.random.SeedSequence` from a seed argument.

    Examples
    --------
    >>> entropy_seed(3)
    3
    """
    if isinstance(random_seed, np.random.Generator):
        return int(random_seed.integers(2**63))
    if isinstance(random_seed, np.random.SeedSequence):
        return random_seed.entropy
    return random_seed


class _EpsStream:
    """Standard normals of one step's shape, drawn in blocks of ``block``."""

    def __init__(self, rng: np.random.Generator, shape: tuple, block: int = 1000):
        self.rng, self.shape, self.block = rng, tuple(shape), int(block)
        self._buf = np.empty((0, *self.shape))

    def take(self, k: int) -> np.ndarray:
        while len(self._buf) < k:
            more = self.rng.standard_normal((self.block, *self.shape))
            self._buf = np.concatenate([self._buf, more])
        out, self._buf = self._buf[:k], self._buf[k:]
        return out


class Inference:
    """Base class of the variational methods (ADVI, SVGD, NFVI, ...).

    Subclasses set :attr:`approx`, :attr:`model`, :attr:`optimizer`,
    :attr:`backend` and the seed, then call :meth:`_build`; they implement
    :meth:`_objective` and :attr:`eps_shape`.

    Attributes
    ----------
    approx : Approximation
    step_fn : tessera.Function
        One step ``step_fn(eps) -> value`` (value at the parameters before
        the step); updates the parameters.
    backend : Backend
        The backend the step runs on.
    """

    #: what the recorded value is called (progress bar, errors)
    value_name = "ELBO"
    approx: Any
    model: Any
    optimizer: Any

    # --- to implement ---------------------------------------------------------
    @property
    def eps_shape(self) -> tuple:
        """Shape of one step's standard-normal input."""
        raise NotImplementedError

    def _objective(self, eps) -> tuple[Any, list]:
        """``(value, grads)``: the recorded value and the gradients of the
        loss to minimize with respect to ``approx.params``."""
        raise NotImplementedError

    # --- building -------------------------------------------------------------
    def _setup(self, model, random_seed, start, obj_optimizer, backend) -> dict:
        """Set the model, optimizer, backend and seeds; return the starting
        point (unconstrained, by value-variable name)."""
        from tessera.ppl.inference.optimizers import adam
        from tessera.ppl.inference.start import start_values
        from tessera.ppl.model.context import modelcontext

        self.model = model = modelcontext(model)
        discrete = [
            v.name for v in model.value_vars if v.dtype.startswith(("int", "uint"))
        ]
        if discrete:
            raise TypeError(
                f"{type(self).__name__} needs continuous free variables; "
                f"{discrete} are discrete"
            )
        self.optimizer = obj_optimizer if obj_optimizer is not None else adam(0.01)
        self.backend = backend
        seeds = np.random.SeedSequence(entropy_seed(random_seed)).spawn(3)
        point = model.initial_point(random_seed=int(seeds[0].generate_state(1)[0]))
        point.update(start_values(model, start, f"{type(self).__name__}: start"))
        self._seed, self._init_seed = seeds[1], seeds[2]
        return point

    def _build(self, seed: np.random.SeedSequence) -> None:
        from tessera.compile.function import function
        from tessera.ops.type import TensorType
        from tessera.ppl.inference.advi import flat_logp_graph
        from tessera.ppl.inference.minibatch import minibatch_indices

        gen_seed, mb_seed = seed.spawn(2)
        self._eps = _EpsStream(np.random.default_rng(gen_seed), self.eps_shape)
        eps = TensorType("float64", self.eps_shape)(name="eps")
        value, grads = self._objective(eps)
        params = list(self.approx.params)
        self.optimizer.state = []  # a rebuild starts the optimizer afresh
        updates = dict(self.optimizer(grads, params))
        x = TensorType("float64", (self.approx.size,))(name="x")
        self._minibatches = minibatch_indices([flat_logp_graph(self.model, x)])
        for info, ss in zip(
            self._minibatches, mb_seed.spawn(max(1, len(self._minibatches)))
        ):
            info.reseed(ss)
            updates.update(info.updates())
        self._value = value
        self._state = params + list(self.optimizer.state)

        def build(b: Backend):
            fn = function([eps], value, updates=updates, backend=b)
            chunked = None
            if b.traceable and not self._minibatches:
                chunked = self._chunk_program(eps, value, updates, b)
            return fn, chunked

        (self.step_fn, self._chunked), self.backend = compile_with(
            self.backend, build, "ppl.fit"
        )

    def _chunk_program(self, eps, value, updates, backend) -> Callable:
        import jax
        import jax.numpy as jnp

        from tessera.compile.backends.jax.options import jit
        from tessera.compile.function import function
        from tessera.graph.traversal import clone_replace

        state = self._state
        ins = [v.type() for v in state]
        outs = clone_replace(
            [value] + [updates[v] for v in state], dict(zip(state, ins))
        )
        pure = function([eps, *ins], outs, backend=backend).traceable

        def run(carry, eps_block, n_active):
            def body(c, inp):
                e, k = inp
                res, ok = pure(e, *c)
                val = jnp.where(ok, res[0], jnp.nan)
                active = k < n_active
                new = [jnp.where(active, nv, cv) for nv, cv in zip(res[1:], c)]
                return new, val

            steps = jnp.arange(eps_block.shape[0])
            return jax.lax.scan(body, list(carry), (eps_block, steps))

        return jit(run)

    # --- fitting --------------------------------------------------------------
    def fit(
        self,
        n: int = 10000,
        callbacks: Sequence[Callable] | None = None,
        progressbar: bool = True,
        obj_optimizer: Callable | None = None,
        obj_n_mc: int | None = None,
    ):
        """Run ``n`` optimization steps (continuing from the current state).

        Parameters
        ----------
        n : int
        callbacks : list of callables, optional
            ``callback(approx, hist, i)`` after each step; raising
            ``StopIteration`` (or returning True) ends the fit.
        progressbar : bool
            A tqdm bar showing the running value.
        obj_optimizer : Optimizer, optional
            Replace the optimizer (as PyMC's ``Inference.fit`` takes it; its
            state starts afresh, the approximation's parameters carry on).
        obj_n_mc : int, optional
            Replace the number of Monte-Carlo draws per gradient.

        Returns
        -------
        Approximation
            ``approx.hist`` gains the value of each step.

        Raises
        ------
        NonFiniteELBOError
            If a step's value is not finite; the approximation keeps the
            last state with a finite value and ``hist`` stops before it.
        """
        from tessera.ppl.progress import ProgressBar

        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if obj_optimizer is not None or obj_n_mc is not None:
            if obj_n_mc is not None and int(obj_n_mc) < 1:
                raise ValueError(f"obj_n_mc must be >= 1, got {obj_n_mc}")
            self.optimizer = obj_optimizer or self.optimizer
            if obj_n_mc is not None:
                self.obj_n_mc = int(obj_n_mc)
            self._seed = self._seed.spawn(1)[0]
            self._build(self._seed)  # a new step function for them
        callbacks = list(callbacks or [])
        hist = np.empty(n)
        bar = ProgressBar(n, enabled=progressbar, desc=type(self).__name__)
        self._done, self.stop_reason = n, None
        try:
            if self._chunked is not None:
                self._run_chunked(n, hist, callbacks, bar)
            else:
                self._run_steps(n, hist, callbacks, bar)
        finally:
            done = self._done
            self.approx.hist = np.concatenate([self.approx.hist, hist[:done]])
            last = (
                f"{self.value_name} = {_smooth(hist, done - 1):.4g}" if done else None
            )
            bar.close(last)
        return self.approx

    def _callbacks(self, callbacks, hist, i: int) -> bool:
        full = np.concatenate([self.approx.hist, hist[: i + 1]])
        stop = False
        for cb in callbacks:
            try:
                stop = bool(cb(self.approx, full, len(full) - 1)) or stop
            except StopIteration as why:
                stop, self.stop_reason = True, str(why) or type(cb).__name__
        return stop

    def _run_steps(self, n, hist, callbacks, bar) -> None:
        step = self.step_fn.raw_fn
        current = [v.get_value(borrow=True) for v in self._state]
        for i in range(n):
            eps = self._eps.take(1)[0]
            # the step rebinds every shared value to a new array (no in-place
            # writes), so borrowed references are a snapshot
            last_good, current = (
                current,
                [v.get_value(borrow=True) for v in self._state],
            )
            value = float(step(eps))
            if not np.isfinite(value):
                self._fail(value, i, last_good, current, eps)
            hist[i] = value
            bar.step(i, f"{self.value_name} = {_smooth(hist, i):.4g}")
            if callbacks and self._callbacks(callbacks, hist, i):
                self._done = i + 1
                return

    def _run_chunked(self, n, hist, callbacks, bar) -> None:
        import jax.numpy as jnp

        every = [int(getattr(cb, "every", 1) or 1) for cb in callbacks]
        size = min([CHUNK, *every]) if callbacks else CHUNK
        if n < size:  # a power of two: few distinct programs for short fits
            size = 1 << max(0, int(np.ceil(np.log2(max(n, 1)))))
        carry = [jnp.asarray(v.get_value(borrow=True)) for v in self._state]
        prev = None  # (carry, block, k) of the previous chunk
        i = 0
        while i < n:
            k = min(size, n - i)
            eps = self._eps.take(k)
            block = (
                eps
                if k == size
                else np.concatenate([eps, np.zeros((size - k, *self.eps_shape))])
            )
            new, vals = self._chunked(carry, block, k)
            vals = np.asarray(vals)[:k]
            bad = np.flatnonzero(~np.isfinite(vals))
            if bad.size:
                j = int(bad[0])
                hist[i : i + j] = vals[:j]
                # restore the state whose value was the last finite one: the
                # one before step j - 1 (as the step-by-step loop does)
                if j >= 1:
                    good, _ = self._chunked(carry, block, j - 1)
                elif prev is not None:
                    good, _ = self._chunked(prev[0], prev[1], prev[2] - 1)
                else:
                    good = carry
                at, _ = self._chunked(carry, block, j)
                after, _ = self._chunked(carry, block, j + 1)
                for v, c in zip(self._state, after):
                    v.set_value(np.asarray(c))
                good, at = [np.asarray(c) for c in good], [np.asarray(c) for c in at]
                self._fail(vals[j], i + j, good, at, eps[j])
            hist[i : i + k] = vals
            prev, carry = (carry, block, k), new
            for v, c in zip(self._state, carry):
                v.set_value(np.asarray(c))
            for j in range(k):
                if callbacks and self._callbacks(callbacks, hist, i + j):
                    self._done = i + j + 1
                    return
            i += k
            if bar.enabled:
                postfix = f"{self.value_name} = {_smooth(hist, i - 1):.4g}"
                for j in range(i - k, i):
                    bar.step(j, postfix)

    # --- errors ---------------------------------------------------------------
    def _fail(self, value, i, last_good, at, eps) -> None:
        """Restore ``last_good`` and raise; ``at``: the state the failed step
        started from (where the model is evaluated to name its terms)."""
        bad = {v: np.asarray(v.get_value(borrow=True)) for v in self.approx.params}
        for v, b in zip(self._state, at):
            v.set_value(np.asarray(b))
        terms = self._bad_draw_terms(eps)
        for v, b in zip(self._state, last_good):
            v.set_value(np.asarray(b))
        self._done = i
        raise NonFiniteELBOError(
            self._nonfinite_message(value, i, len(self.approx.hist), bad, terms),
            i,
            self.approx,
            terms,
        )

    def _draws_at(self, eps) -> np.ndarray:
        """The flat draws the failed step evaluated the model at."""
        return np.atleast_2d(self.approx.draws_from_eps(eps))

    def _bad_draw_terms(self, eps) -> str:
        from tessera.ppl.inference.start import bad_terms

        try:
            draws = self._draws_at(eps)
            layout = self.approx.layout
            first_ok = None
            for row in draws:
                point = layout.array_to_point(row)
                terms = bad_terms(self.model, point)
                if terms.startswith("non-finite terms"):
                    labels = self.approx.flat_labels()
                    at = ", ".join(f"{lab}={v:.4g}" for lab, v in zip(labels, row))
                    return f"{terms} at the draw ({at})"
                first_ok = first_ok or terms
        except Exception as error:  # noqa: BLE001 - the diagnosis is best effort
            return f"(the terms could not be evaluated: {error})"
        return (
            "every log-density term is finite at the step's draws (its gradient "
            "or the update overflowed)"
        )

    def _nonfinite_message(self, value, i, offset, values, terms) -> str:
        labels = self.approx.flat_labels()
        bad = []
        for p, val in values.items():
            idx = np.flatnonzero(~np.isfinite(val.ravel()))
            if not idx.size:
                continue
            if val.ndim == 1 and val.size == len(labels):
                names = [labels[k] for k in idx[:5]]
            else:
                names = [str(np.unravel_index(k, val.shape)) for k in idx[:5]]
            more = f" and {idx.size - 5} more" if idx.size > 5 else ""
            bad.append(f"{p.name}: {', '.join(names)}{more}")
        where = (
            "non-finite parameters after the step: " + "; ".join(bad)
            if bad
            else "the parameters stayed finite"
        )
        return (
            f"the {self.value_name} is {value} at iteration {i}"
            + (f" of this fit ({offset + i} overall)" if offset else "")
            + f"; {where}; model terms: {terms}. The approximation keeps the "
            "parameters of the last iteration with a finite "
            f"{self.value_name}; try a smaller learning rate, a better start, or "
            "a model parametrization that avoids the problem"
        )


def _smooth(hist: np.ndarray, i: int, window: int = 100) -> float:
    return float(hist[max(0, i + 1 - window) : i + 1].mean())
