"""NUTS for many chains in one program, each chain at its own pace.

Under ``jax.vmap``, a NUTS kernel written with nested loops (a loop of
trajectory doublings, each a loop of leapfrog steps) runs in lockstep:
every transition of every chain lasts as long as the longest trajectory
among the chains. With many chains, or many datasets (``sample_many``),
most chains then idle most of the time, waiting for the one whose tree is
deepest.

Here NUTS is written as a state machine that advances by one leapfrog step
per iteration of a single ``while`` loop. Each chain (a *lane*) keeps the
state of its own transition: the trajectory's ends and proposal, the
subtree being built, and the U-turn checkpoints of that subtree (the
iterative tree building of NumPyro's and BlackJAX's NUTS, which needs one
momentum sum and one ``M^-1 p`` per level). When a lane's transition ends
(a U-turn, a divergence or the maximum depth), it records its draw, updates
its warm-up state (:mod:`~tessera.ppl.inference.adaptation`) and starts its
next transition at the next iteration, while the other lanes go on with
theirs. One call of the program runs a fixed number of iterations over a
batch of *slots*; between calls the host may give a slot whose chain has
finished to another chain (:mod:`~tessera.ppl.inference.nuts_lanes_pool`),
so the batch's cost follows the chains' total work rather than ``chains x
the slowest chain's work``.

The sampler is the multinomial NUTS of Stan and BlackJAX (Betancourt 2017):
uniform progressive sampling inside a subtree, biased progressive sampling
when a subtree joins the trajectory, the generalized U-turn criterion on
momentum sums for the trajectory and every sub-subtree, a divergence when
the energy error passes 1000. A lane's randomness is its own: the
momentum, directions and merge uniforms of each transition come in as
inputs (drawn on the host from the chain's NumPy streams, see
:mod:`~tessera.ppl.inference.nuts_lanes_pool`), and each leaf's uniform is
hashed from the transition's key and the leaf's number, so a lane's draws
do not depend on which other lanes share the program.

Examples
--------
>>> import jax, jax.numpy as jnp
>>> from tessera.compile.backends import get_backend
>>> from tessera.ppl.inference.adaptation import adapt_init
>>> _ = get_backend("jax").load()  # float64
>>> vg = jax.vmap(jax.value_and_grad(lambda x: -0.5 * jnp.sum(x * x)))
>>> program = lanes_program(lambda x, data: vg(x), max_treedepth=10,
...                         target_accept=0.8, iterations=200)
>>> x0 = np.zeros((3, 2))
>>> start = (np.zeros(3, np.int32), x0, np.zeros(3), x0,
...          adapt_init((3, 2), step_size=0.5))
>>> rng = np.random.default_rng(0)
>>> rand = (rng.normal(size=(3, 10, 2)), rng.uniform(size=(3, 10, 20)),
...         rng.integers(0, 2**32, (3, 10, 2), np.uint32))
>>> flags = np.zeros((10, 4), bool)  # no adaptation
>>> from tessera.compile.backends.jax.options import jit  # tessera's XLA options
>>> until = np.full(3, 10)  # each chain's 10 transitions
>>> lanes, rows = jit(program)(program.zeros(start, rand), np.ones(3, bool),
...                            start, rand, (), flags, until)
>>> lanes.chain.i.tolist()  # all 10 transitions within 200 steps
[10, 10, 10]
>>> out, offsets = ended(rows, 2)  # slot after slot
>>> out.position.shape, offsets.tolist()
((30, 2), [0, 10, 20, 30])
>>> bool(out.num_integration_steps.min() >= 1)
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from tessera.ppl.inference.adaptation import adapt_update

__all__ = ["LaneOutput", "Lanes", "ended", "lanes_program"]

#: an energy error above this ends the trajectory as a divergence (Stan's)
MAX_ENERGY_ERROR = 1000.0

#: most values of the rows a call writes (one per slot and iteration, 8
#: bytes each): a call runs fewer iterations for large models
MAX_ROWS = 2**22


class LaneOutput(NamedTuple):
    """One chunk's draws and statistics, ``(lanes..., length, ...)`` each."""

    position: object
    logdensity: object
    step_size: object
    is_divergent: object
    num_trajectory_expansions: object
    num_integration_steps: object
    energy: object
    acceptance_rate: object


class _Chain(NamedTuple):
    """One lane's chain: its state between transitions."""

    i: object  # transitions finished in this chunk
    x: object  # position, log-density and gradient
    lp: object
    g: object
    adapt: object  # AdaptState


class _Traj(NamedTuple):
    """One lane's transition in progress."""

    eps: object  # signed step size of the subtree being built
    w0: object  # -H at the transition's start
    xl: object  # trajectory ends: position, momentum, gradient
    pl: object
    gl: object
    xr: object
    pr: object
    gr: object
    rho: object  # momentum sum of the trajectory
    log_w: object  # log of the trajectory's total weight
    xp: object  # the trajectory's proposal and its -H
    lpp: object
    gp: object
    wp: object
    depth: object  # doublings merged
    sum_acc: object
    n_leaf: object
    div: object
    k: object  # leaf number in the subtree
    xc: object  # the subtree's last leaf (the leapfrog starts from it)
    pc: object
    gc: object
    sub_log_w: object
    sxp: object  # the subtree's proposal
    slpp: object
    sgp: object
    swp: object
    ck_rho: object  # (levels, ndim) momentum sums of the open sub-subtrees
    ck_p: object  # (levels, ndim) momenta at their first leaves
    u: object  # (2 * levels,) uniforms: directions, then merges
    k_leaf: object  # key of the leaves' uniforms


def _vmap_n(fn: Callable, n: int, in_axes=0) -> Callable:
    import jax

    for _ in range(n):
        fn = jax.vmap(fn, in_axes)
    return fn


def _no_turn(rho, p_a, p_b, ps_a, ps_b):
    """The generalized U-turn criterion holds (the trajectory goes on):
    ``rho`` the momentum sum from end ``a`` to end ``b``, ``p`` their
    momenta and ``ps`` their ``M^-1 p``; as in NumPyro and BlackJAX, the
    ends count half in ``rho``."""
    import jax.numpy as jnp

    rho = rho - 0.5 * (p_a + p_b)
    # products summed, not ``@``: XLA:CPU runs a batched dot as one small
    # matrix product per lane (hundreds of library calls per iteration)
    return (jnp.sum(rho * ps_a, -1) > 0) & (jnp.sum(rho * ps_b, -1) > 0)


def _mix32(h):
    """MurmurHash3's 32-bit finalizer (a bijection with full avalanche)."""
    import jax.numpy as jnp

    h = h ^ (h >> 16)
    h = h * jnp.uint32(0x85EBCA6B)
    h = h ^ (h >> 13)
    h = h * jnp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def _uniform(key, n, dtype):
    """A uniform in (0, 1) (32 bits) hashed from the 64-bit ``key`` and the
    leaf number ``n``: two rounds of :func:`_mix32`, far cheaper in the
    loop than a Threefry block (which XLA:CPU runs as a loop of its own)."""
    import jax.numpy as jnp

    h = _mix32(key[0] ^ (n.astype(jnp.uint32) * jnp.uint32(0x9E3779B9)))
    h = _mix32(h ^ key[1])
    return (h.astype(dtype) + 0.5) / 2.0**32


class Lanes(NamedTuple):
    """The state of a batch of slots, kept on the device between calls of
    :func:`lanes_program`'s program: each slot's chain and transition."""

    chain: _Chain
    traj: _Traj


def lanes_program(
    vg: Callable, *, max_treedepth: int, target_accept: float, iterations: int
) -> Callable:
    """The program advancing a batch of NUTS chains (*slots*) by up to
    ``iterations`` leapfrog steps, each slot at its own pace.

    Parameters
    ----------
    vg : callable
        ``vg(x, data) -> (logp, grad)`` over the slots: ``x`` ``(slots,
        ndim)``, ``data`` a tuple of ``(slots, ...)`` arrays (each slot's
        data; may be empty); ``logp = -inf`` where the log-density is not
        finite (a divergence).
    max_treedepth : int
        Maximum number of trajectory doublings.
    target_accept : float
        The step-size adaptation's target acceptance rate.
    iterations : int
        Leapfrog steps per call (the program returns earlier when every
        slot has finished its run or a running slot has made its window's
        transitions; it takes fewer where its output, one row per slot and
        step, would pass :data:`MAX_ROWS` values).

    Returns
    -------
    callable
        ``advance(lanes, fresh, start, rand, data, flags, until) ->
        (lanes, rows)``, and ``advance.zeros(start, rand)``, the state to
        pass at the first call (every slot ``fresh``). ``lanes`` is a
        :class:`Lanes`; slots where ``fresh`` is set take up a new chain
        ``start = (i, position, logdensity, grad, AdaptState)`` (``(slots,
        ...)`` each; ``i`` the transition the chain starts at). ``rand =
        (z, u, key)`` is the randomness of each slot's next ``window``
        transitions (from the ``i`` it has after ``fresh``): ``z``
        ``(slots, window, ndim)`` standard normals (the momenta), ``u``
        ``(slots, window, 2 * max_treedepth)`` uniforms in (0, 1) (the
        directions, then the merges), ``key`` ``(slots, window, 2)``
        uint32 (the leaves' uniforms are hashed from it); a slot makes at
        most ``window`` transitions per call. ``flags`` ``(steps, 4)`` are
        the rows of
        :func:`~tessera.ppl.inference.adaptation.window_schedule`.
        ``until`` ``(slots,)`` int: a slot idles once its chain has made
        that many transitions (``steps`` to run to the end, fewer to pause
        the chain between two transitions, 0 for a slot without a chain).
        ``rows`` ``(iterations, slots, ndim + 8)``: each slot's
        transition at each iteration, packed, flagged (last column) where
        it ended; :func:`ended` picks the finished transitions out.
    """
    import jax
    import jax.numpy as jnp

    max_depth = max(int(max_treedepth), 1)
    levels = np.arange(max_depth, dtype=np.int32)
    # leaf k opens (closes) the sub-subtree of level l when the low l bits
    # of k (k + 1) are zero
    low = (2**levels - 1).astype(np.int32)
    n_iter = int(iterations)

    def begin(c: _Chain, rand, t: _Traj | None = None) -> _Traj:
        """A transition from the chain's state; ``rand`` its randomness.
        The subtree's proposal and checkpoints need no reset (its first
        leaf sets them): with ``t``, they are ``t``'s, which spares
        selecting them when a transition begins inside the loop."""
        z, u, k_leaf = rand
        inv = c.adapt.inverse_mass_matrix
        p0 = z / jnp.sqrt(inv)
        w0 = c.lp - 0.5 * jnp.sum(p0 * p0 * inv)
        zero = jnp.zeros((), jnp.int32)
        ck = jnp.zeros((max_depth, *c.x.shape), c.x.dtype)
        return _Traj(
            eps=jnp.where(u[0] < 0.5, 1.0, -1.0) * c.adapt.step_size,
            w0=w0,
            xl=c.x,
            pl=p0,
            gl=c.g,
            xr=c.x,
            pr=p0,
            gr=c.g,
            rho=p0,
            log_w=w0,
            xp=c.x,
            lpp=c.lp,
            gp=c.g,
            wp=w0,
            depth=zero,
            sum_acc=jnp.zeros_like(c.lp),
            n_leaf=zero,
            div=jnp.asarray(False),
            k=zero,
            xc=c.x,
            pc=p0,
            gc=c.g,
            sub_log_w=jnp.asarray(-jnp.inf, c.lp.dtype),
            sxp=c.x if t is None else t.sxp,
            slpp=c.lp if t is None else t.slpp,
            sgp=c.g if t is None else t.sgp,
            swp=w0 if t is None else t.swp,
            ck_rho=ck if t is None else t.ck_rho,
            ck_p=ck if t is None else t.ck_p,
            u=u,
            k_leaf=k_leaf,
        )

    def half_step(c: _Chain, t: _Traj):
        """The leapfrog's first half: the momentum and the position to
        evaluate."""
        p_half = t.pc + 0.5 * t.eps * t.gc
        return p_half, t.xc + t.eps * c.adapt.inverse_mass_matrix * p_half

    def finish(c: _Chain, t: _Traj, i0, until, rand, flags, p_half, x_new, lp, g):
        """The leaf at ``x_new`` joins the subtree, the subtree joins the
        trajectory when complete; the transition ends (the chain moves and
        adapts, the next transition begins) or goes on."""
        steps, window = flags.shape[0], rand[0].shape[0]
        active = (c.i < until) & (c.i - i0 < window)
        inv = c.adapt.inverse_mass_matrix
        p = p_half + 0.5 * t.eps * g
        w = lp - 0.5 * jnp.sum(p * p * inv)
        w = jnp.where(jnp.isnan(w), -jnp.inf, w)
        div_leaf = ~(t.w0 - w <= MAX_ENERGY_ERROR)
        sum_acc = t.sum_acc + jnp.exp(jnp.minimum(w - t.w0, 0.0))
        n_leaf = t.n_leaf + 1
        # uniform progressive sampling inside the subtree
        sub_log_w = jnp.logaddexp(t.sub_log_w, w)
        take = jnp.log(_uniform(t.k_leaf, n_leaf, w.dtype)) < w - sub_log_w
        sxp, slpp, sgp, swp = (
            jnp.where(take, a, b)
            for a, b in ((x_new, t.sxp), (lp, t.slpp), (g, t.sgp), (w, t.swp))
        )
        # U-turn checks of the sub-subtrees this leaf closes
        ps = inv * p
        opens = ((t.k & low) == 0)[:, None]
        ck_rho = jnp.where(opens, 0.0, t.ck_rho) + p
        ck_p = jnp.where(opens, p, t.ck_p)
        closes = (((t.k + 1) & low) == 0) & (levels >= 1) & (levels <= t.depth)
        ok = jax.vmap(_no_turn, (0, 0, None, 0, None))(ck_rho, ck_p, p, inv * ck_p, ps)
        rejected = div_leaf | jnp.any(closes & ~ok)
        merge = (t.k + 1 == 2**t.depth) & ~rejected
        # biased progressive sampling when the subtree joins the trajectory
        at_depth = jnp.minimum(t.depth, max_depth - 1)
        accept = merge & (jnp.log(t.u[max_depth + at_depth]) < sub_log_w - t.log_w)
        xp, lpp, gp, wp = (
            jnp.where(accept, a, b)
            for a, b in ((sxp, t.xp), (slpp, t.lpp), (sgp, t.gp), (swp, t.wp))
        )
        log_w = jnp.where(merge, jnp.logaddexp(t.log_w, sub_log_w), t.log_w)
        rho = jnp.where(merge, t.rho + ck_rho[at_depth], t.rho)
        fwd = t.eps > 0
        to_r, to_l = merge & fwd, merge & ~fwd
        xr, pr, gr = (
            jnp.where(to_r, a, b) for a, b in ((x_new, t.xr), (p, t.pr), (g, t.gr))
        )
        xl, pl, gl = (
            jnp.where(to_l, a, b) for a, b in ((x_new, t.xl), (p, t.pl), (g, t.gl))
        )
        depth = t.depth + merge.astype(jnp.int32)
        turned = ~_no_turn(rho, pl, pr, inv * pl, inv * pr)
        done = rejected | (merge & (turned | (depth >= max_depth)))
        # a new subtree from an end in a random direction, or the next leaf
        new_sub = merge & ~done
        go_r = t.u[jnp.minimum(depth, max_depth - 1)] < 0.5
        step = c.adapt.step_size
        eps = jnp.where(new_sub, jnp.where(go_r, 1.0, -1.0) * step, t.eps)
        xc, pc, gc = (
            jnp.where(new_sub, jnp.where(go_r, a, b), e)
            for a, b, e in ((xr, xl, x_new), (pr, pl, p), (gr, gl, g))
        )
        t_next = t._replace(
            eps=eps,
            xl=xl,
            pl=pl,
            gl=gl,
            xr=xr,
            pr=pr,
            gr=gr,
            rho=rho,
            log_w=log_w,
            xp=xp,
            lpp=lpp,
            gp=gp,
            wp=wp,
            depth=depth,
            sum_acc=sum_acc,
            n_leaf=n_leaf,
            div=t.div | div_leaf,
            k=jnp.where(new_sub, 0, t.k + 1),
            xc=xc,
            pc=pc,
            gc=gc,
            sub_log_w=jnp.where(new_sub, -jnp.inf, sub_log_w),
            sxp=sxp,
            slpp=slpp,
            sgp=sgp,
            swp=swp,
            ck_rho=ck_rho,
            ck_p=ck_p,
        )
        # a finished transition: the chain moves to the proposal and adapts
        acc_rate = sum_acc / n_leaf
        moved = done & active
        row = flags[jnp.minimum(c.i, steps - 1)]
        adapt = adapt_update(c.adapt, xp, acc_rate, row, target_accept)
        c_next = _Chain(
            i=c.i + moved.astype(jnp.int32),
            x=jnp.where(moved, xp, c.x),
            lp=jnp.where(moved, lpp, c.lp),
            g=jnp.where(moved, gp, c.g),
            adapt=jax.tree_util.tree_map(
                lambda a, b: jnp.where(moved, a, b), adapt, c.adapt
            ),
        )
        # ... and begins its next transition
        j = jnp.minimum(c_next.i - i0, window - 1)
        fresh = begin(c_next, jax.tree_util.tree_map(lambda a: a[j], rand), t_next)
        t_next = jax.tree_util.tree_map(
            lambda a, b: jnp.where(moved, a, b), fresh, t_next
        )
        # tree depth as BlackJAX counts it: a rejected subtree's doubling too
        expansions = depth + rejected.astype(jnp.int32)
        out = LaneOutput(
            xp, lpp, step, t.div | div_leaf, expansions, n_leaf, -wp, acc_rate
        )
        return c_next, t_next, out

    half_v = jax.vmap(half_step)
    finish_v = jax.vmap(finish, (0, 0, 0, 0, 0, None, 0, 0, 0, 0))

    def first(rand):
        """Each slot's first transition's randomness."""
        return jax.tree_util.tree_map(lambda a: a[:, 0], rand)

    def advance(lanes, fresh, start, rand, data, flags, until):
        c, t = lanes
        c = jax.tree_util.tree_map(
            lambda a, b: jnp.where(_col(fresh, a), a, b), _Chain(*start), c
        )
        slots, window, n = rand[0].shape
        t = jax.tree_util.tree_map(
            lambda a, b: jnp.where(_col(fresh, a), a, b),
            jax.vmap(begin)(c, first(rand)),
            t,
        )
        i0 = c.i

        # one packed row per slot and iteration, flagged where the slot's
        # transition ended: written in place at the iteration (a scatter at
        # each slot's own place is a loop over the slots on XLA:CPU)
        width = n + len(LaneOutput._fields)
        # fewer iterations per call where the rows would pass MAX_ROWS values
        n_rows = max(1, min(n_iter, MAX_ROWS // (slots * width)))
        rows = jnp.zeros((n_rows, slots, width), c.x.dtype)

        def cond(state):
            it, c, _, _ = state
            # on while a slot runs and none has used up its window (the host
            # then draws the next windows: no slot idles for long)
            running = c.i < until
            room = jnp.all(~running | (c.i - i0 < window))
            return (it < n_rows) & jnp.any(running) & room

        def body(state):
            it, c, t, rows = state
            p_half, x_new = half_v(c, t)
            lp, g = vg(x_new, data)
            c_new, t, row = finish_v(c, t, i0, until, rand, flags, p_half, x_new, lp, g)
            finished = (c_new.i > c.i).astype(rows.dtype)
            packed = jnp.concatenate(
                [
                    row.position,
                    *(jnp.asarray(r, rows.dtype)[:, None] for r in row[1:]),
                    finished[:, None],
                ],
                axis=1,
            )
            rows = jax.lax.dynamic_update_slice(rows, packed[None], (it, 0, 0))
            return it + 1, c_new, t, rows

        _, c, t, rows = jax.lax.while_loop(cond, body, (0, c, t, rows))
        # the host picks each slot's ended transitions out of the rows
        # (XLA:CPU's sort of the iterations by slot took a millisecond a call)
        return Lanes(c, t), rows

    def zeros(start, rand) -> Lanes:
        """A :class:`Lanes` of zeros shaped for ``start`` and ``rand`` (the
        state to pass at the first call, every slot ``fresh``)."""

        def build(s, r):
            c = _Chain(*s)
            return Lanes(c, jax.vmap(begin)(c, first(r)))

        shapes = jax.eval_shape(build, start, rand)
        return jax.tree_util.tree_map(lambda a: np.zeros(a.shape, a.dtype), shapes)

    advance.zeros = zeros
    return advance


def ended(rows: np.ndarray, ndim: int) -> tuple[LaneOutput, np.ndarray]:
    """The transitions a call's slots finished, from the rows
    ``(iterations, slots, ndim + 8)`` :func:`lanes_program`'s program
    returns: a :class:`LaneOutput` of ``(transitions, ...)`` NumPy arrays,
    slot after slot and in order within a slot, and where each slot's
    begin (``(slots + 1,)`` offsets).

    Examples
    --------
    >>> rows = np.zeros((3, 2, 1 + 8))
    >>> rows[[0, 2], 0, -1] = rows[1, 1, -1] = 1.0  # slot 0 ends twice
    >>> rows[:, :, 0] = np.arange(6).reshape(3, 2)
    >>> out, offsets = ended(rows, 1)
    >>> out.position[:, 0].tolist(), offsets.tolist()
    ([0.0, 4.0, 3.0], [0, 2, 3])
    """
    rows = np.asarray(rows)
    slot, it = np.nonzero(rows[..., -1].T > 0.5)  # by slot, then iteration
    picked = rows[it, slot]
    counts = np.bincount(slot, minlength=rows.shape[1])
    offsets = np.concatenate([[0], np.cumsum(counts)])
    flags = (picked[:, ndim + k] for k in range(len(LaneOutput._fields) - 1))
    lp, step, div, depth, steps, energy, acc = flags
    out = LaneOutput(
        picked[:, :ndim],
        lp,
        step,
        div > 0.5,
        depth.astype(np.int32),
        steps.astype(np.int32),
        energy,
        acc,
    )
    return out, offsets


def _col(mask, a):
    """``mask`` ``(slots,)`` shaped to broadcast against ``a``."""
    return mask.reshape(mask.shape + (1,) * (a.ndim - 1))
