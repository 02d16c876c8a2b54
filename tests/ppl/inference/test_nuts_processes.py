"""ppl.sample with chain_method="processes": per-chain starts reach their
forked process."""

import subprocess
import sys
import textwrap

# in a fresh process: one that has started JAX (as earlier tests do) runs
# the chains in threads instead of forking
SCRIPT = textwrap.dedent(
    """
    import os
    import tessera.ppl.inference.nuts as nuts
    from tessera import ppl

    parent, start = os.getpid(), nuts._start

    def spy(job, chain, seed):
        if os.getpid() != parent:
            # one write per line: the two processes share the pipe (print
            # writes the text and its newline separately: lines interleave)
            os.write(1, f"CHILD-CHAIN {os.getpid()} {chain}\\n".encode())
        return start(job, chain, seed)

    nuts._start = spy
    with ppl.Model() as model:
        ppl.Normal("mu", 0.0, 1.0)
    ppl.sample(draws=5, tune=5, chains=2, cores=2, backend="numpy",
               chain_method="processes", initvals=[{"mu": -1.0}, {"mu": 1.0}],
               progressbar=False, compute_convergence_checks=False, model=model)
    """
)


def test_each_process_starts_at_its_own_chains_start():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    by_pid: dict[str, set] = {}
    for line in out.splitlines():
        if line.startswith("CHILD-CHAIN"):
            _, pid, chain = line.split()
            by_pid.setdefault(pid, set()).add(chain)
    # each process asks for its own chain only (twice: nutpie probes first)
    assert sorted(by_pid.values(), key=sorted) == [{"0"}, {"1"}], out
