"""tessera's lanes NUTS (nuts_lanes, nuts_lanes_pool): each chain at its own
pace in a batch of slots, checked against exact posteriors and BlackJAX."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tessera.compile.backends import get_backend
from tessera.compile.backends.jax.options import jit
from tessera.ppl.inference.adaptation import adapt_init, window_schedule
from tessera.ppl.inference.nuts_lanes_pool import LaneRandom, lane_seeds, run_lanes

jax = pytest.importorskip("jax")
jnp = jax.numpy
get_backend("jax").load()  # float64

RNG = np.random.default_rng(0)
_A = RNG.normal(size=(4, 4))
COV = _A @ _A.T / 4 + np.diag([0.01, 1.0, 100.0, 1.0])
PREC = np.linalg.inv(COV)


def gaussian(x):
    return -0.5 * x @ PREC @ x


def _program(logp, max_treedepth=10, iterations=64):
    from tessera.ppl.inference.nuts_lanes import lanes_program

    vg = jax.vmap(jax.value_and_grad(logp))
    program = lanes_program(
        lambda x, data: vg(x),
        max_treedepth=max_treedepth,
        target_accept=0.8,
        iterations=iterations,
    )
    # tessera's jit: XLA:CPU options that compile in a fifth of the memory
    return jit(program), program.zeros, vg


def _run(
    logp, lanes, steps, tune, *, slots, seed=0, ndim=4, step_size=1.0, pilot=None, **kw
):
    advance, zeros, vg = _program(logp, **kw)
    x0 = np.random.default_rng(seed).normal(size=(lanes, ndim))
    lp, g = (np.asarray(a) for a in vg(x0))
    starts = (x0, lp, g, adapt_init((lanes, ndim), step_size=step_size))
    schedule = window_schedule(tune, steps) if tune else np.zeros((steps, 4), bool)
    return run_lanes(
        advance,
        zeros,
        starts,
        lane_seeds(seed, lanes),
        (),
        schedule,
        slots=slots,
        max_treedepth=kw.get("max_treedepth", 10),
        window=kw.get("iterations", 64),
        pilot=pilot,
    )


@pytest.fixture(scope="module")
def gaussian_run():
    return _run(gaussian, 8, 1400, 400, slots=3)


def test_draws_match_a_correlated_gaussian(gaussian_run):
    out, made = gaussian_run
    assert made.tolist() == [1400] * 8
    x = out.position[:, 400:].reshape(-1, 4)
    sd = np.sqrt(np.diag(COV))
    # 8,000 draws, ESS in the thousands: 0.1 sd and 10% on the variances
    assert np.all(np.abs(x.mean(axis=0)) < 0.1 * sd)
    np.testing.assert_allclose(x.var(axis=0) / np.diag(COV), 1.0, atol=0.1)
    corr = COV / np.outer(sd, sd)
    np.testing.assert_allclose(np.corrcoef(x.T), corr, atol=0.05)
    assert not out.is_divergent[:, 400:].any()


def test_trajectories_as_long_as_blackjax_ones(gaussian_run):
    """The same NUTS: on the same target and warm-up, the mean leapfrog
    steps per transition and acceptance agree with BlackJAX's."""
    from tessera.ppl.inference.nuts_blackjax import run_blackjax

    out, _ = gaussian_run
    x0 = np.random.default_rng(1).normal(size=(4, 4))
    ref = run_blackjax(gaussian, x0, draws=1000, tune=400, seed=2)
    ours = out.num_integration_steps[:, 400:].mean()
    theirs = ref.stats["n_steps"].mean()
    assert abs(ours / theirs - 1) < 0.15, (ours, theirs)
    acc = out.acceptance_rate[:, 400:].mean()
    assert abs(acc - ref.stats["acceptance_rate"].mean()) < 0.05
    # depth as BlackJAX counts it (the rejected doubling included)
    assert (
        abs(
            out.num_trajectory_expansions[:, 400:].mean()
            - ref.stats["tree_depth"].mean()
        )
        < 0.3
    )


def test_a_lanes_draws_do_not_depend_on_the_slots():
    """Nor on the lanes beside it or the calls' lengths (with a log-density
    whose rounding does not depend on the batch: XLA's matrix products may
    round differently by batch size, which trajectories amplify)."""

    def diagonal(x):
        return -0.5 * jnp.sum(x * x / jnp.diag(jnp.asarray(COV)))

    a, _ = _run(diagonal, 5, 120, 60, slots=1, seed=3)
    b, _ = _run(diagonal, 5, 120, 60, slots=4, seed=3, iterations=16)
    np.testing.assert_allclose(a.position, b.position, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(a.num_integration_steps, b.num_integration_steps)


def test_paused_lanes_go_on_where_they_stopped():
    """Lanes paused after their pilot (in warm-up) and resumed in other
    slots draw what they draw run straight through."""

    def diagonal(x):
        return -0.5 * jnp.sum(x * x / jnp.diag(jnp.asarray(COV)))

    a, made_a = _run(diagonal, 5, 120, 60, slots=2, seed=3, pilot=0)
    b, made_b = _run(diagonal, 5, 120, 60, slots=2, seed=3, pilot=17)
    assert made_a.tolist() == made_b.tolist() == [120] * 5
    np.testing.assert_allclose(a.position, b.position, rtol=1e-10, atol=1e-12)
    for x, y in zip(a[1:], b[1:]):
        np.testing.assert_array_equal(x, y)


def test_the_lanes_with_most_work_left_go_first():
    """After their pilots, the paused lanes take the free slots in the
    order of their leapfrog steps left: the lane whose transitions are
    longest (the widest target, a fixed step size) goes first, though it
    was queued last."""
    from tessera.ppl.inference.nuts_lanes import lanes_program

    vg = jax.vmap(jax.value_and_grad(lambda x, s: -0.5 * jnp.sum((x / s) ** 2)))
    program = lanes_program(
        lambda x, data: vg(x, *data), max_treedepth=10, target_accept=0.8, iterations=64
    )
    advance, zeros = jit(program), program.zeros
    scales = np.array([1.0, 1.5, 1.0, 4.0])  # lane 3: the longest trajectories
    resumed = []

    def spy(state, fresh, start, rand, data, flags, until):
        for b in np.flatnonzero(fresh & (start[0] > 0)):
            resumed.append(float(data[0][b]))
        return advance(state, fresh, start, rand, data, flags, until)

    x0 = np.full((4, 1), 0.5)
    lp, g = (np.asarray(a) for a in vg(x0, scales))
    starts = (x0, lp, g, adapt_init((4, 1), step_size=0.1))
    out, made = run_lanes(
        spy,
        zeros,
        starts,
        lane_seeds(0, 4),
        (scales,),
        np.zeros((40, 4), bool),  # no warm-up: the step size stays 0.1
        slots=1,
        max_treedepth=10,
        window=64,
        pilot=5,
    )
    assert made.tolist() == [40] * 4
    steps = out.num_integration_steps.mean(axis=1)
    assert steps[3] > 2 * steps[0]
    # each lane paused once; resumed by work left: scale 4, then 1.5
    assert resumed[:2] == [4.0, 1.5] and sorted(resumed) == sorted(scales)


def test_a_call_capped_by_max_rows_gives_the_same_draws(monkeypatch):
    """A large model's calls run fewer iterations (their rows capped at
    MAX_ROWS values): here 3 per call, fewer than most transitions take,
    so transitions span calls; the draws are the same."""
    from tessera.ppl.inference import nuts_lanes

    def diagonal(x):
        return -0.5 * jnp.sum(x * x / jnp.diag(jnp.asarray(COV)))

    a, made_a = _run(diagonal, 3, 60, 30, slots=2, seed=4)
    width = 4 + len(nuts_lanes.LaneOutput._fields)
    monkeypatch.setattr(nuts_lanes, "MAX_ROWS", 3 * 2 * width)
    b, made_b = _run(diagonal, 3, 60, 30, slots=2, seed=4)
    assert made_a.tolist() == made_b.tolist() == [60] * 3
    assert a.num_integration_steps[:, 30:].mean() > 3
    np.testing.assert_allclose(a.position, b.position, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(a.num_integration_steps, b.num_integration_steps)


def test_max_treedepth_and_steps_per_transition():
    """A step size far too small for a wide Gaussian: every trajectory
    runs to the maximum depth, 2**depth - 1 leapfrog steps."""

    def wide(x):
        return -0.5 * jnp.sum(x * x) / 1e4

    out, _ = _run(wide, 2, 5, 0, slots=2, step_size=1e-3, max_treedepth=4)
    assert out.num_trajectory_expansions.tolist() == [[4] * 5] * 2
    assert out.num_integration_steps.tolist() == [[15] * 5] * 2


def test_divergences_are_flagged():
    """A wall: the log-density is -inf beyond |x| = 1 (a divergence, never
    a draw there)."""

    def walled(x):
        return jnp.where(jnp.all(jnp.abs(x) < 1.0), -0.5 * jnp.sum(x * x), -jnp.inf)

    out, _ = _run(walled, 2, 300, 0, slots=2, ndim=1, step_size=0.8)
    assert out.is_divergent.any()
    assert np.all(np.abs(out.position) < 1.0)


def test_stop_keeps_the_transitions_made():
    advance, zeros, vg = _program(gaussian, iterations=8)
    x0 = np.zeros((3, 4))
    lp, g = (np.asarray(a) for a in vg(x0))
    stop = threading.Event()
    stop.set()  # seen after the first call
    out, made = run_lanes(
        advance,
        zeros,
        (x0, lp, g, adapt_init((3, 4))),
        lane_seeds(0, 3),
        (),
        np.zeros((500, 4), bool),
        slots=2,
        max_treedepth=10,
        window=8,
        stop=stop,
    )
    assert 0 < made[:2].min() and made.max() <= 8 and made[2] == 0
    assert np.all(out.position[2] == 0)


def test_lane_random_streams_are_independent_of_the_blocks():
    a, b = LaneRandom(5, 3, 10), LaneRandom(5, 3, 10)
    whole = a.window(0, 30)
    parts = [b.window(i, 7) for i in range(0, 30, 5)]
    for k in range(3):
        got = np.concatenate([p[k][:5] for p in parts])
        np.testing.assert_array_equal(got, whole[k])
    assert not np.array_equal(LaneRandom(6, 3, 10).window(0, 4)[0], whole[0][:4])


def test_the_loop_has_no_batched_dot_or_remainder():
    """The U-turn checks are products summed and bit masks: XLA:CPU runs a
    batched ``dot`` as one small library call per lane and level, and an
    integer remainder as a division (both measured per lane and step)."""
    from tessera.ppl.inference.nuts_lanes import lanes_program

    def diagonal(x):
        return -0.5 * jnp.sum(x * x)

    program = lanes_program(
        lambda x, data: jax.vmap(jax.value_and_grad(diagonal))(x),
        max_treedepth=10,
        target_accept=0.8,
        iterations=8,
    )
    slots, window, ndim = 8, 4, 3
    x0 = np.zeros((slots, ndim))
    start = (np.zeros(slots, np.int32), x0, np.zeros(slots), x0)
    start = (*start, adapt_init((slots, ndim)))
    rand = (
        np.zeros((slots, window, ndim)),
        np.full((slots, window, 20), 0.5),
        np.zeros((slots, window, 2), np.uint32),
    )
    args = (program.zeros(start, rand), np.ones(slots, bool), start, rand, ())
    flags, until = np.zeros((10, 4), bool), np.full(slots, 10)
    text = jit(program).lower(*args, flags, until).compile().as_text()
    assert " while(" in text
    assert " dot(" not in text and " remainder(" not in text


def test_a_call_ends_when_a_slot_has_used_its_window():
    """Short transitions, a window of 4: the call returns as soon as one
    slot has made 4 transitions (the host then draws the next windows)
    rather than running its other slots on while that one idles."""
    advance, zeros, vg = _program(lambda x: -0.5 * jnp.sum(x * x), iterations=200)
    slots, window = 8, 4
    x0 = np.random.default_rng(0).normal(size=(slots, 1))
    lp, g = (np.asarray(a) for a in vg(x0))
    start = (np.zeros(slots, np.int32), x0, lp, g, adapt_init((slots, 1)))
    rng = np.random.default_rng(1)
    rand = (
        rng.normal(size=(slots, window, 1)),
        rng.uniform(size=(slots, window, 20)),
        rng.integers(0, 2**32, (slots, window, 2), np.uint32),
    )
    fresh = np.ones(slots, bool)
    until = np.full(slots, 50)
    state, _ = advance(
        zeros(start, rand), fresh, start, rand, (), np.zeros((50, 4), bool), until
    )
    made = np.asarray(state.chain.i)
    assert made.max() == window and made.min() < window
