"""ppl.sample with chain_method="processes": per-chain starts reach their
forked process."""

import numpy as np

from tessera import ppl


def test_each_process_starts_at_its_chains_initvals():
    with ppl.Model() as model:
        ppl.Normal("mu", 0.0, 100.0)
    idata = ppl.sample(
        draws=5,
        tune=1,
        chains=2,
        cores=2,
        initvals=[{"mu": -50.0}, {"mu": 50.0}],
        backend="numpy",
        chain_method="processes",
        progressbar=False,
        compute_convergence_checks=False,
        discard_tuned_samples=False,
        random_seed=1,
        model=model,
    )
    first = idata.warmup_posterior["mu"].values[:, 0]
    # one tuning step moves a chain by about its step size, not by 100
    np.testing.assert_allclose(first, [-50.0, 50.0], atol=5.0)
