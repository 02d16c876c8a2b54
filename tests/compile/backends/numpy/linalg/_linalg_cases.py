"""The linalg tests' inputs and references (``tests/ops/linalg/cases.py``),
for the backend's kernel tests in this folder, which is not a package."""

import importlib.util
from pathlib import Path

import numpy as np

from tessera.compile.backends.numpy.dispatch import numpy_funcify
from tessera.compile.backends.numpy.linalg._dispatch import (
    linalg_funcify,
    linalg_kernel,
)
from tessera.ops.blockwise import Blockwise

_path = Path(__file__).resolve().parents[4] / "ops" / "linalg" / "cases.py"
_spec = importlib.util.spec_from_file_location("_ops_linalg_cases", _path)
_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cases)

check_grad = _cases.check_grad
cholesky_pullback_reference = _cases.cholesky_pullback_reference
factor_and_cotangent = _cases.factor_and_cotangent
evaluate = _cases.evaluate
per_element = _cases.per_element
spd = _cases.spd
sym = _cases.sym
triangular = _cases.triangular


def spd_matrix(rng, n, dtype="float64"):
    """One well-conditioned SPD matrix (n, n)."""
    a = rng.standard_normal((n, n))
    return (a @ a.T / n + np.eye(n)).astype(dtype)


def fast_and_general(node):
    """The node's NumPy callable (which must be a compile-time specialization)
    and the backend's general kernel for it."""
    op = node.op
    core = op.core_op if isinstance(op, Blockwise) else op
    assert linalg_funcify(core, node, None) is not None
    return numpy_funcify(op, node), linalg_kernel(core, node)


def tol(dtype):
    return {"rtol": 1e-4, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-10}
