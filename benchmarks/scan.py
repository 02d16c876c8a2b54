"""Loops: a 1,000-step recurrence and its gradient, tessera's scan vs hand-written.

The recurrence is an Elman RNN cell over a (64,) state,

    h_t = tanh(W h_{t-1} + x_t),    cost = sum_t sum(h_t),

and its gradient with respect to ``W`` (backpropagation through time).
Compared side by side, as medians of several runs:

* tessera's NumPy backend vs a hand-written Python loop over NumPy (and a
  hand-written BPTT loop for the gradient); target ratio <= 1.5;
* tessera's JAX backend vs a hand-written ``jax.lax.scan`` (and
  ``jax.grad`` of it) under ``jax.jit``; target ratio <= 1.1;
* PyTensor's scan (C backend), where PyTensor is installed;
* the gradient's time over the forward time (target <= 3).

Run: python benchmarks/scan.py [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np

import tessera as ts

try:
    from benchmarks._util import fmt_time, machine, median_time, versions
except ImportError:  # run as a script from the benchmarks folder
    from _util import fmt_time, machine, median_time, versions

STEPS, SIZE = 1000, 64


def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((STEPS, SIZE))
    w = rng.standard_normal((SIZE, SIZE)) / np.sqrt(SIZE)
    return x, np.zeros(SIZE), w


def tessera_fns(backend: str):
    x = ts.tensor("x", shape=(STEPS, SIZE))
    h0 = ts.tensor("h0", shape=(SIZE,))
    w = ts.tensor("w", shape=(SIZE, SIZE))
    hs, _ = ts.scan(
        lambda xt, h, w: ts.tanh(w @ h + xt),
        sequences=[x],
        outputs_info=[h0],
        non_sequences=[w],
    )
    cost = hs.sum()
    fwd = ts.function([x, h0, w], cost, backend=backend)
    grad = ts.function([x, h0, w], ts.grad(cost, w), backend=backend)
    if backend == "jax":
        return (lambda *a: fwd(*a).block_until_ready()), (
            lambda *a: grad(*a).block_until_ready()
        )
    return fwd, grad


def numpy_forward(x, h0, w):
    h, total = h0, 0.0
    for t in range(len(x)):
        h = np.tanh(w @ h + x[t])
        total += h.sum()
    return total


def numpy_grad(x, h0, w):
    hs = np.empty((len(x) + 1, len(h0)))
    hs[0] = h0
    for t in range(len(x)):
        hs[t + 1] = np.tanh(w @ hs[t] + x[t])
    gw = np.zeros_like(w)
    gh = np.zeros_like(h0)
    for t in range(len(x) - 1, -1, -1):
        ga = (1.0 + gh) * (1.0 - hs[t + 1] ** 2)
        gw += np.outer(ga, hs[t])
        gh = w.T @ ga
    return gw


def jax_fns():
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def cost(x, h0, w):
        def body(h, xt):
            h = jnp.tanh(w @ h + xt)
            return h, h

        _, hs = jax.lax.scan(body, h0, x)
        return hs.sum()

    fwd = jax.jit(cost)
    grad = jax.jit(jax.grad(cost, argnums=2))
    return (lambda *a: fwd(*a).block_until_ready()), (
        lambda *a: grad(*a).block_until_ready()
    )


def pytensor_fns():
    try:
        import pytensor
        import pytensor.tensor as pt
    except ImportError:
        return None
    x = pt.matrix("x")
    h0 = pt.vector("h0")
    w = pt.matrix("w")
    hs, _ = pytensor.scan(
        lambda xt, h, w: pt.tanh(pt.dot(w, h) + xt),
        sequences=[x],
        outputs_info=[h0],
        non_sequences=[w],
    )
    cost = hs.sum()
    fwd = pytensor.function([x, h0, w], cost)
    grad = pytensor.function([x, h0, w], pytensor.grad(cost, w))
    return fwd, grad


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 7
    min_time = 0.05 if args.quick else 0.2
    inputs = data()

    def timed(fns):
        fwd, grad = fns
        return [
            median_time(lambda f=f: f(*inputs), repeat, min_time) for f in (fwd, grad)
        ]

    rows = {}
    ts_np = tessera_fns("numpy")
    np.testing.assert_allclose(ts_np[1](*inputs), numpy_grad(*inputs), rtol=1e-9)
    rows["tessera (NumPy backend)"] = timed(ts_np)
    rows["hand-written NumPy loop"] = timed((numpy_forward, numpy_grad))
    try:
        ts_jax = tessera_fns("jax")
        ref_jax = jax_fns()
        np.testing.assert_allclose(
            np.asarray(ts_jax[1](*inputs)), numpy_grad(*inputs), rtol=1e-9
        )
        rows["tessera (JAX backend)"] = timed(ts_jax)
        rows["hand-written jax.lax.scan"] = timed(ref_jax)
    except ImportError:
        pass
    pt_fns = pytensor_fns()
    if pt_fns is not None:
        rows["PyTensor scan"] = timed(pt_fns)

    print("# scan: a 1,000-step RNN over a (64,) state\n")
    print(f"- machine: {machine()}")
    print(f"- versions: {versions('numpy', 'jax', 'jaxlib', 'pytensor')}")
    print(
        "- medians of several runs; the machine may be shared, so the numbers "
        "are indicative\n"
    )
    print("| implementation | forward | gradient (wrt W) | gradient / forward |")
    print("|---|---:|---:|---:|")
    for name, (f, g) in rows.items():
        print(f"| {name} | {fmt_time(f)} | {fmt_time(g)} | {g / f:.2f} |")
    print()
    pairs = [
        ("tessera (NumPy backend)", "hand-written NumPy loop", 1.5),
        ("tessera (JAX backend)", "hand-written jax.lax.scan", 1.1),
        ("tessera (NumPy backend)", "PyTensor scan", None),
        ("tessera (JAX backend)", "PyTensor scan", None),
    ]
    print("| ratio | forward | gradient | target |")
    print("|---|---:|---:|---:|")
    for a, b, target in pairs:
        if a in rows and b in rows:
            rf = rows[a][0] / rows[b][0]
            rg = rows[a][1] / rows[b][1]
            goal = f"<= {target}" if target else "-"
            print(f"| {a} / {b} | {rf:.2f} | {rg:.2f} | {goal} |")


if __name__ == "__main__":
    main()
