"""Distributions embedded in others (sd_dist of LKJCholeskyCov) inside a model."""

import numpy as np

import tessera as ts
from tessera import ppl


def test_registered_lkj_cholesky_cov_has_no_leftover_sd_draw():
    # regression: embedding sd_dist broadcast it to the rv's shape, which kept
    # the sd_dist draw (a random node) in the model's log-density graph
    with ppl.Model() as model:
        chol = ppl.LKJCholeskyCov(
            "chol", n=3, eta=2.0, sd_dist=ppl.Exponential.dist(1.0), shape=(4, 3, 3)
        )
        ppl.MvNormal("y", mu=np.zeros(3), chol=chol, observed=np.zeros((4, 3)))
    f = model.logp_dlogp_function()
    x = model.point_to_array(model.initial_point(0))
    lp, g = f(x)
    assert np.isfinite(lp) and np.all(np.isfinite(g)) and g.shape == x.shape
    from tessera.random.op import RandomVariable

    assert not any(isinstance(n.op, RandomVariable) for n in f.fn.fg.apply_nodes)
    _ = ts
