"""tessera: a symbolic tensor-graph engine with first-class batching.

Examples
--------
>>> import tessera as ts
>>> x = ts.tensor("x", shape=(None, 3))
>>> y = ts.exp(x).sum(axis=1)
>>> f = ts.function([x], ts.grad(y.sum(), x))
>>> f([[0.0, 0.0, 0.0]])
array([[1., 1., 1.]])
"""

from tessera.config import config
from tessera.graph import (
    Apply,
    Constant,
    FunctionGraph,
    Op,
    Variable,
    clone_replace,
    dprint,
    graph_inputs,
)
from tessera.ops.basic import (
    as_tensor,
    constant,
    matrix,
    scalar,
    shared,
    tensor,
    vector,
)
from tessera.ops.creation import (
    arange,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    tri,
    zeros,
    zeros_like,
)
from tessera.ops.math import *  # noqa: F403
from tessera.ops.math import cast, switch
from tessera.ops.products import dot, einsum, matmul, outer, tensordot
from tessera.ops.reduction import (
    all,
    any,
    argmax,
    argmin,
    cumprod,
    cumsum,
    logsumexp,
    max,
    mean,
    min,
    prod,
    std,
    sum,
    var,
)
from tessera.ops.shape import (
    broadcast_arrays,
    broadcast_to,
    concatenate,
    expand_dims,
    flatten,
    flip,
    moveaxis,
    permute_dims,
    repeat,
    reshape,
    shape,
    split,
    squeeze,
    stack,
    swapaxes,
    tile,
    transpose,
)
from tessera.ops.subtensor import inc_subtensor, set_subtensor
from tessera.ops.type import TensorType
from tessera.ops.variable import SharedVariable, TensorConstant, TensorVariable
from tessera.grad import grad, hessian, jacobian
from tessera.compile import Function, function

__version__ = "0.1.0"
from tessera.ops.vectorize import vectorize, vectorize_graph
from tessera.ops.blockwise import Blockwise
from tessera.ops import linalg
