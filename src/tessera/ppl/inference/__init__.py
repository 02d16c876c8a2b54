"""Inference: MAP, variational inference (ADVI) and NUTS (via nutpie).

* :mod:`.optimizers`: Adam, adagrad-window, SGD as symbolic update builders;
* :mod:`.callbacks`: convergence checks for :func:`fit`;
* :mod:`.minibatch`: :func:`Minibatch` for stochastic (minibatch) ADVI;
* :mod:`.nuts`: NUTS through nutpie.
"""
