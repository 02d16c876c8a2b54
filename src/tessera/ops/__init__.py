"""The tensor layer: tensor types and variables and the op library."""

from tessera.ops import shape as _shape  # noqa: F401  (shape re-exports join/rearrange)
from tessera.ops.basic import (
    as_tensor,
    constant,
    matrix,
    scalar,
    shared,
    tensor,
    vector,
)
from tessera.ops.type import TensorType
from tessera.ops.variable import SharedVariable, TensorConstant, TensorVariable

__all__ = [
    "SharedVariable",
    "TensorConstant",
    "TensorType",
    "TensorVariable",
    "as_tensor",
    "constant",
    "matrix",
    "scalar",
    "shared",
    "tensor",
    "vector",
]
