"""Stan's windowed adaptation as a schedule plus a pure update."""

import numpy as np
import pytest

pytest.importorskip("jax")
import tessera.compile.backends.jax  # noqa: E402, F401  (float64 in JAX)
from tessera.ppl.inference.adaptation import (
    ADAPT,
    FINAL,
    SLOW,
    WINDOW_END,
    adapt_init,
    adapt_update,
    window_schedule,
)


def windows(flags):
    """(start, stop) of each slow window."""
    ends = np.flatnonzero(flags[:, WINDOW_END]) + 1
    starts = [int(np.flatnonzero(flags[:, SLOW])[0]), *ends[:-1]]
    return list(zip(starts, ends.tolist(), strict=True))


@pytest.mark.parametrize(
    "tune, expected",
    [
        # Stan's documented default for 1000 warm-up iterations: a 75-step
        # initial buffer, windows of 25, 50, 100, 200 and 500, a 50-step end
        (1000, [(75, 100), (100, 150), (150, 250), (250, 450), (450, 950)]),
        # the last window is stretched rather than followed by a short one
        (500, [(75, 100), (100, 150), (150, 450)]),
        (200, [(75, 100), (100, 150)]),
        # too short for the defaults: 15% / 75% / 10%
        (100, [(15, 90)]),
    ],
)
def test_window_schedule_matches_stan(tune, expected):
    flags = window_schedule(tune, tune + 7)
    assert windows(flags) == expected
    assert flags[:tune, ADAPT].all() and not flags[tune:].any()
    assert np.flatnonzero(flags[:, FINAL]).tolist() == [tune - 1]
    slow = np.flatnonzero(flags[:, SLOW])
    assert slow.tolist() == list(range(expected[0][0], expected[-1][1]))


def test_short_warmup_adapts_the_step_size_only():
    flags = window_schedule(19)
    assert flags[:, ADAPT].all() and not flags[:, SLOW].any()
    assert not flags[:, WINDOW_END].any()


@pytest.mark.parametrize("tune, steps", [(0, 5), (5, 4)])
def test_window_schedule_errors(tune, steps):
    with pytest.raises(ValueError, match="tune <= steps"):
        window_schedule(tune, steps)


def row(*cols):
    r = np.zeros(4, dtype=bool)
    r[list(cols)] = True
    return r


def test_window_end_sets_the_regularized_variances():
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(40, 3)) * np.array([0.1, 1.0, 30.0])
    state = adapt_init((3,))
    for x in xs[:-1]:
        state = adapt_update(state, x, 0.8, row(ADAPT, SLOW))
    state = adapt_update(state, xs[-1], 0.8, row(ADAPT, SLOW, WINDOW_END))
    n = len(xs)
    expected = n / (n + 5) * xs.var(axis=0, ddof=1) + 1e-3 * 5 / (n + 5)
    np.testing.assert_allclose(state.inverse_mass_matrix, expected, rtol=1e-12)
    # the window's moments restart for the next one
    assert float(state.n) == 0.0 and not np.any(state.m2)


def test_dual_averaging_reaches_the_target_acceptance():
    # acceptance falls with the step size: exp(-step) = 0.8 at log(1/0.8)
    state = adapt_init((2,), step_size=3.0)
    for _ in range(400):
        state = adapt_update(state, np.zeros(2), np.exp(-state.step_size), row(ADAPT))
    final = adapt_update(
        state, np.zeros(2), np.exp(-state.step_size), row(ADAPT, FINAL)
    )
    np.testing.assert_allclose(float(final.step_size), np.log(1 / 0.8), rtol=0.05)
    assert float(final.step_size) == pytest.approx(float(np.exp(final.log_avg)))


def test_no_flags_leave_the_state_alone():
    state = adapt_init((2,))
    state = adapt_update(state, np.ones(2), 0.1, row(ADAPT, SLOW))
    after = adapt_update(state, np.full(2, 5.0), 0.0, row())
    for a, b in zip(after, state, strict=True):
        np.testing.assert_array_equal(a, b)


def test_non_finite_acceptance_counts_as_rejection():
    a = adapt_update(adapt_init((1,)), np.zeros(1), np.nan, row(ADAPT))
    b = adapt_update(adapt_init((1,)), np.zeros(1), 0.0, row(ADAPT))
    c = adapt_update(adapt_init((1,)), np.zeros(1), 1.0, row(ADAPT))
    assert float(a.step_size) == float(b.step_size) < float(c.step_size)
