"""Ctrl-C during ppl.sample: the draws so far are kept, marked; nothing is
left running. Each case runs ppl.sample in a subprocess, sends it SIGINT
once its progress bar has moved far enough, and reads what it printed (in
the background while the suite goes on: tests/_background.py)."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from _background import result

# each case samples in a subprocess: outside the fast subset
pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import multiprocessing, os, signal, threading, warnings, sys
    import numpy as np
    from tessera import ppl

    # as in an interactive Python: a shell that starts pytest in the
    # background (`pytest &`) has it, and so this script, ignore SIGINT
    signal.signal(signal.SIGINT, signal.default_int_handler)

    how = eval(sys.argv[1])
    with ppl.Model() as model:
        mu = ppl.Normal("mu", 0.0, 5.0, shape=2)
        sigma = ppl.HalfNormal("sigma", 2.0)
        ppl.Normal("y", mu[0] + mu[1], sigma, observed=np.array([0.5, 1.0, 1.5]))
    print("READY", flush=True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            idata = ppl.sample(chains=2, cores=2, random_seed=1, model=model,
                               compute_convergence_checks=False, **how)
        n = idata.posterior.sizes
        print("RESULT", n["chain"], n["draw"],
              idata.sample_stats.attrs.get("interrupted"),
              bool(np.isfinite(idata.posterior["mu"].values).all()), flush=True)
        print("WARNINGS", [str(w.message) for w in caught], flush=True)
    except KeyboardInterrupt as e:
        print("KEYBOARDINTERRUPT", e, flush=True)
    # what this process still runs: child processes and Python threads
    print("CHILDREN", len(multiprocessing.active_children()),
          sum(len(open(f"/proc/self/task/{t}/children").read().split())
              for t in os.listdir("/proc/self/task")), flush=True)
    print("THREADS", sorted(t.name for t in threading.enumerate()
                            if t is not threading.main_thread() and not t.daemon),
          flush=True)
    """
)

# tessera's samplers: nutpie (NumPy backend) in threads or processes,
# BlackJAX (JAX backend) in threads or one vectorized program
HOWS = {
    "nutpie-threads": {"backend": "numpy", "chain_method": "threads"},
    "nutpie-processes": {"backend": "numpy", "chain_method": "processes"},
    "blackjax-threads": {"backend": "jax", "chain_method": "threads"},
    "blackjax-vectorized": {"backend": "jax", "chain_method": "vectorized"},
}
PROGRESS = re.compile(r"NUTS \([^)]*\):\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)")
#: the bar of chains in processes also shows its least advanced chain
SLOWEST = re.compile(r"slowest chain (\d+) steps")


def _leftovers(marker: str) -> list[int]:
    """Processes (forked chains included) still running the script."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    out.append(int(pid))
        except OSError:
            pass
    return out


def _interrupt(how: dict, fraction: float, slowest: int = 0):
    """Run the script, SIGINT it once its bar shows ``fraction`` of the
    steps done (and its slowest chain ``slowest`` steps, where the bar
    shows it); returns (stdout, seconds from SIGINT to exit, script
    path)."""
    script = Path(tempfile.mkdtemp(prefix="interrupt-")) / "sample_then_interrupt.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), repr({**how, "progressbar": True})],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # both pipes drained by threads (communicate() would read stderr
    # beside the thread, and close it under it)
    err: list[str] = []
    outs: list[str] = []
    threads = [
        threading.Thread(
            target=lambda s=s, buf=buf: buf.extend(iter(lambda: s.read(256), "")),
            daemon=True,
        )
        for s, buf in ((proc.stderr, err), (proc.stdout, outs))
    ]
    for thread in threads:
        thread.start()
    t_end = time.monotonic() + 240
    try:
        while time.monotonic() < t_end and proc.poll() is None:
            text = "".join(err)
            done = PROGRESS.findall(text)
            lag = [int(n) for n in SLOWEST.findall(text)] if slowest else [0]
            if (
                done
                and int(done[-1][0]) >= fraction * int(done[-1][1])
                and lag
                and lag[-1] >= slowest
            ):
                break
            time.sleep(0.1)
        assert proc.poll() is None, "".join(err)[-2000:]
        assert time.monotonic() < t_end, "sampling did not start"
        proc.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        proc.wait(timeout=120)
        took = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    for thread in threads:
        thread.join(5)
    out = "".join(outs)
    assert proc.returncode == 0, "".join(err)[-3000:]
    return out, took, str(script)


def _no_leftovers(out: str, script: str):
    assert "CHILDREN 0 0" in out, out
    assert "THREADS []" in out, out
    time.sleep(0.5)
    assert _leftovers(script) == []
    shutil.rmtree(Path(script).parent, ignore_errors=True)


#: draws of the runs interrupted while drawing: a short warm-up and a long
#: run, interrupted well after the warm-up (BlackJAX stops at a chunk
#: boundary, a twentieth of the run: a shorter run has shorter chunks)
def _drawing_draws(name: str) -> int:
    return 40_000 if name.startswith("blackjax") else 1_000_000


def while_drawing(name: str):
    """The run interrupted while drawing (a background job:
    ``tests/_background.py``)."""
    how = {**HOWS[name], "tune": 100, "draws": _drawing_draws(name)}
    # the bar sums the chains: a chain forked seconds after the other (a
    # large parent process, a busy machine) was still warming up when the
    # first had made 2% of the steps of both, so chains in processes wait
    # for their slowest chain to draw; chains in threads start together
    slowest = how["tune"] + 1000 if name == "nutpie-processes" else 0
    return _interrupt(how, fraction=0.003, slowest=slowest)


def during_warmup(name: str):
    """The run interrupted during its warm-up (a background job)."""
    tune = 100_000 if name.startswith("blackjax") else 1_000_000
    return _interrupt({**HOWS[name], "tune": tune, "draws": 10}, fraction=1e-5)


@pytest.mark.background(job=while_drawing)
@pytest.mark.parametrize("name", list(HOWS))
def test_interrupt_while_drawing_keeps_draws(name):
    draws = _drawing_draws(name)
    out, took, script = result(while_drawing, name=name)
    m = re.search(r"RESULT (\d+) (\d+) (\w+) (\w+)", out)
    assert m, out
    chains, kept, interrupted, finite = m.groups()
    assert chains == "2" and 0 < int(kept) < draws, out
    assert interrupted == "True" and finite == "True", out
    w = re.search(r"draws per chain \[(\d+), (\d+)\]", out)
    assert w, out  # the warning gives each chain's draws
    assert min(int(w.group(1)), int(w.group(2))) == int(kept)
    assert took < 60, took
    _no_leftovers(out, script)


@pytest.mark.background(job=during_warmup)
@pytest.mark.parametrize(
    "name", ["nutpie-threads", "nutpie-processes", "blackjax-vectorized"]
)
def test_interrupt_during_warmup_raises(name):
    out, took, script = result(during_warmup, name=name)
    assert "RESULT" not in out, out
    assert "KEYBOARDINTERRUPT" in out and "no draws were kept" in out, out
    assert took < 60, took
    _no_leftovers(out, script)
