"""Reproduce (or rule out) LLVM's compile blow-up under XLA:CPU's whole-loop
compilation.

XLA:CPU compiles a ``while`` loop as one function, with no kernel calls
inside, when one iteration reads and writes fewer than
``xla_cpu_small_while_loop_byte_threshold`` bytes (1 KiB by default; set
through ``XLA_FLAGS=--xla_backend_extra_options=...`` before JAX starts).
That would make tessera's samplers several times faster on small models
(docs/inference.md), but on jaxlib 0.9.2 LLVM's loop vectorizer does not
finish compiling some such functions: it recurses in
``llvm::vputils::isSingleScalar``. This script is the pure-JAX reproduction
for the upstream report (docs/xla-whole-loop.md) and the check to run on a
new jaxlib before tessera turns the threshold up.

The reproduction: 1000 steps of Stein variational gradient descent (8
particles of a 3-parameter log-density) in a ``fori_loop``, whose kernel
bandwidth is the lower median of the squared distances found by bisection,
unrolled ``rounds`` times (as ``ppl.fit(method="svgd")`` does). Each case
compiles in a fresh interpreter with its threshold, under a timeout.

Run: python benchmarks/xla_whole_loop.py [--timeout 30] [--quick]
(``--quick``: a 10 s timeout). Prints a Markdown table; a case that does
not compile within the timeout is reported as such (its process killed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

#: (bisection rounds, whole-loop threshold in bytes or None for XLA's default)
CASES = [(10, None), (20, None), (10, 65536), (20, 65536)]


def child(rounds: int, particles: int) -> None:
    """Compile and run the reproduction; print the compile seconds."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    y = jnp.array([0.5, 1.0, 1.5])

    def logp(x):
        mu, log_s, z = x
        resid = jnp.sum((y - mu - z) ** 2) * jnp.exp(-2.0 * log_s)
        return -0.5 * mu**2 / 25.0 - 0.5 * z**2 - 2.0 * log_s - 0.5 * resid

    grad = jax.vmap(jax.grad(logp))

    def step(_, x):
        g = grad(x)
        diff = x[:, None, :] - x[None, :, :]
        sq = jnp.sum(diff**2, -1)
        # the lower median by bisection: each round's bounds depend on both
        # bounds of the round before
        target = (sq.size - 1) // 2 + 1
        lo, hi = 0.0 * sq.min(), sq.max()
        for _ in range(rounds):
            mid = 0.5 * (lo + hi)
            enough = jnp.sum(sq <= mid) >= target
            hi, lo = jnp.where(enough, mid, hi), jnp.where(enough, lo, mid)
        h = hi / jnp.log(particles + 1.0) + 1e-8
        k = jnp.exp(-sq / h)
        phi = (k @ g + 2.0 / h * jnp.sum(k[:, :, None] * diff, 1)) / particles
        return x + 0.05 * phi

    run = jax.jit(lambda x: jax.lax.fori_loop(0, 1000, step, x))
    x0 = jax.random.normal(jax.random.PRNGKey(0), (particles, 3))
    t0 = time.perf_counter()
    compiled = run.lower(x0).compile()
    seconds = time.perf_counter() - t0
    jax.block_until_ready(compiled(x0))
    print(f"COMPILED {seconds:.2f}", flush=True)


def case(rounds: int, threshold: int | None, particles: int, timeout: float) -> str:
    """One case in a fresh interpreter: its compile time, or the timeout."""
    env = dict(os.environ)
    flags = env.get("XLA_FLAGS", "")
    if threshold is not None:
        extra = f"xla_cpu_small_while_loop_byte_threshold={threshold}"
        flags = f"{flags} --xla_backend_extra_options={extra}".strip()
    env["XLA_FLAGS"] = flags
    cmd = [sys.executable, os.path.abspath(__file__), "--child", str(rounds)]
    cmd += ["--particles", str(particles)]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return f"did not compile within {timeout:.0f} s"
    for line in proc.stdout.splitlines():
        if line.startswith("COMPILED "):
            return f"compiled in {float(line.split()[1]):.1f} s"
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:]
    return f"failed (exit {proc.returncode}): {' '.join(tail)}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--quick", action="store_true", help="a 10 s timeout")
    p.add_argument("--particles", type=int, default=8)
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        child(args.child, args.particles)
        return
    timeout = 10.0 if args.quick else args.timeout
    print("### XLA:CPU whole-loop compilation: LLVM's compile blow-up\n")
    print(
        f"SVGD, {args.particles} particles x 3 parameters, 1000 steps in a "
        "fori_loop; bandwidth by unrolled bisection; each case in a fresh "
        f"interpreter, timeout {timeout:.0f} s\n"
    )
    print("| bisection rounds | whole-loop threshold | result |")
    print("|---|---|---|")
    for rounds, threshold in CASES:
        shown = "XLA's default (1 KiB)" if threshold is None else f"{threshold} B"
        result = case(rounds, threshold, args.particles, timeout)
        print(f"| {rounds} | {shown} | {result} |", flush=True)


if __name__ == "__main__":
    main()
