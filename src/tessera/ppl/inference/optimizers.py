"""Stochastic-gradient optimizers as symbolic update builders.

An optimizer maps ``(grads, params)`` to a dict of updates of tessera shared
variables: the new parameter values and the new optimizer state (moments,
step counters, gradient windows), all built from graph ops so that one
compiled function takes a whole step. ``grads`` are gradients of a loss to
*minimize* (ADVI passes the gradient of the negative ELBO).

Examples
--------
>>> import numpy as np
>>> import tessera as ts
>>> w = ts.shared(np.array([3.0, -2.0]), "w")
>>> loss = (w**2).sum()
>>> step = ts.function([], loss, updates=adam(0.1)([ts.grad(loss, w)], [w]))
>>> for _ in range(300):
...     _ = step()
>>> bool(np.abs(w.get_value()).max() < 0.05)
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tessera.ops.basic import shared
from tessera.ops.math import sqrt
from tessera.ops.subtensor import set_subtensor
from tessera.ops.variable import SharedVariable

__all__ = ["SGD", "Adam", "AdagradWindow", "Optimizer", "adagrad_window", "adam", "sgd"]


class Optimizer:
    """Base class: ``optimizer(grads, params) -> updates``.

    Subclasses implement :meth:`_updates`. The state shared variables an
    optimizer creates are listed in :attr:`state` after the first call, so
    callers can snapshot and restore them.

    Examples
    --------
    >>> opt = sgd(0.1)
    >>> opt.learning_rate
    0.1
    """

    def __init__(self, learning_rate: float) -> None:
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {learning_rate}")
        self.learning_rate = float(learning_rate)
        self.state: list[SharedVariable] = []

    def __call__(self, grads: Sequence, params: Sequence[SharedVariable]) -> dict:
        grads, params = list(grads), list(params)
        if len(grads) != len(params):
            raise ValueError(
                f"{type(self).__name__}: {len(grads)} gradients for "
                f"{len(params)} parameters"
            )
        for p in params:
            if not isinstance(p, SharedVariable):
                raise TypeError(
                    f"{type(self).__name__}: parameter {p} is not a shared variable"
                )
        return self._updates(grads, params)

    def _updates(self, grads: list, params: list[SharedVariable]) -> dict:
        raise NotImplementedError

    def _state(self, value, name: str) -> SharedVariable:
        var = shared(np.asarray(value, dtype=np.float64), name=name)
        self.state.append(var)
        return var

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate})"


class SGD(Optimizer):
    """Plain gradient descent: ``p <- p - learning_rate * g``.

    Examples
    --------
    >>> SGD(0.01)
    SGD(learning_rate=0.01)
    """

    def _updates(self, grads, params):
        return {p: p - self.learning_rate * g for p, g in zip(params, grads)}


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias-corrected moment estimates.

    With ``m`` and ``v`` the exponential moving averages of the gradient and
    of its square, the step is ``lr * m_hat / (sqrt(v_hat) + epsilon)``;
    ``m_hat = m / (1 - beta1**t)`` and ``v_hat = v / (1 - beta2**t)``.

    Examples
    --------
    >>> Adam(learning_rate=0.01).beta2
    0.999
    """

    def __init__(
        self,
        learning_rate: float = 0.01,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        super().__init__(learning_rate)
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"Adam: betas must lie in [0, 1), got {beta1}, {beta2}")
        self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), epsilon

    def _updates(self, grads, params):
        b1, b2 = self.beta1, self.beta2
        t = self._state(0.0, "adam_t")
        t_new = t + 1.0
        # bias corrections folded into the step size (one scalar per step)
        lr_t = self.learning_rate * sqrt(1.0 - b2**t_new) / (1.0 - b1**t_new)
        updates = {t: t_new}
        for p, g in zip(params, grads):
            m = self._state(np.zeros(p.get_value(borrow=True).shape), f"adam_m_{p}")
            v = self._state(np.zeros(p.get_value(borrow=True).shape), f"adam_v_{p}")
            m_new = b1 * m + (1.0 - b1) * g
            v_new = b2 * v + (1.0 - b2) * g * g
            updates[m] = m_new
            updates[v] = v_new
            updates[p] = p - lr_t * m_new / (sqrt(v_new) + self.epsilon)
        return updates


class AdagradWindow(Optimizer):
    """Adagrad over a moving window of the last ``n_win`` squared gradients.

    The step is ``learning_rate * g / sqrt(sum of the window + epsilon)``:
    like Adagrad, but old gradients leave the window, so the step size does
    not decay to zero (the default optimizer of PyMC's ADVI).

    Examples
    --------
    >>> AdagradWindow(0.001, n_win=10).n_win
    10
    """

    def __init__(
        self, learning_rate: float = 0.001, n_win: int = 10, epsilon: float = 1e-6
    ) -> None:
        super().__init__(learning_rate)
        if int(n_win) < 1:
            raise ValueError(f"AdagradWindow: n_win must be >= 1, got {n_win}")
        self.n_win, self.epsilon = int(n_win), float(epsilon)

    def _updates(self, grads, params):
        i = shared(np.int64(0), name="adagrad_window_i")
        self.state.append(i)
        slot = i % self.n_win
        updates = {i: i + 1}
        for p, g in zip(params, grads):
            shape = p.get_value(borrow=True).shape
            accu = self._state(np.zeros((self.n_win, *shape)), f"adagrad_accu_{p}")
            accu_new = set_subtensor(accu[slot], g * g)
            updates[accu] = accu_new
            updates[p] = p - self.learning_rate * g / sqrt(
                accu_new.sum(axis=0) + self.epsilon
            )
        return updates


def adam(
    learning_rate: float = 0.01,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
) -> Adam:
    """An :class:`Adam` optimizer (the default of :func:`tessera.ppl.fit`).

    Examples
    --------
    >>> adam(learning_rate=0.05)
    Adam(learning_rate=0.05)
    """
    return Adam(learning_rate, beta1, beta2, epsilon)


def adagrad_window(
    learning_rate: float = 0.001, n_win: int = 10, epsilon: float = 1e-6
) -> AdagradWindow:
    """An :class:`AdagradWindow` optimizer.

    Examples
    --------
    >>> adagrad_window(learning_rate=0.01, n_win=20).n_win
    20
    """
    return AdagradWindow(learning_rate, n_win, epsilon)


def sgd(learning_rate: float = 0.001) -> SGD:
    """An :class:`SGD` optimizer.

    Examples
    --------
    >>> sgd(0.1)
    SGD(learning_rate=0.1)
    """
    return SGD(learning_rate)
