"""Natively batched linear algebra with gradients: ``tessera.linalg``.

Every function accepts (..., m, n) inputs whose leading batch dims broadcast
between arguments. Each is a core op with a gufunc signature, batched by
:class:`~tessera.ops.blockwise.Blockwise`, whose kernel handles the whole
batch in one call.

Examples
--------
>>> import numpy as np
>>> import tessera as ts
>>> a = np.stack([np.eye(2), 4 * np.eye(2)])
>>> ts.linalg.cholesky(a).eval()[:, 1, 1]
array([1., 2.])
"""

from tessera.ops.linalg.decomposition import cholesky, lu_factor, qr
from tessera.ops.linalg.determinant import adjugate, det, slogdet
from tessera.ops.linalg.expm import expm
from tessera.ops.linalg.inverse import cholesky_inverse, inv, pinv
from tessera.ops.linalg.solve import cho_solve, lu_solve, solve, solve_triangular
from tessera.ops.linalg.spectral import eigh, eigvalsh, svd
from tessera.ops.linalg.structure import (
    block_diag,
    diag,
    diag_embed,
    diagonal,
    kron,
    matrix_power,
    trace,
    tril,
    triu,
)

__all__ = [
    "adjugate",
    "block_diag",
    "cho_solve",
    "cholesky",
    "cholesky_inverse",
    "det",
    "diag",
    "diag_embed",
    "diagonal",
    "eigh",
    "eigvalsh",
    "expm",
    "inv",
    "kron",
    "lu_factor",
    "lu_solve",
    "matrix_power",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_triangular",
    "svd",
    "trace",
    "tril",
    "triu",
]
