"""The RandomVariable op: ``(rng, size, *params) -> (next_rng, draw)``.

A random variable draws from a distribution with NumPy's
:class:`numpy.random.Generator`. Its gufunc-style ``signature`` gives the core
dims of each parameter and of the draw (the event shape), e.g. ``"(),()->()"``
for a normal and ``"(k)->()"`` for a categorical over ``k`` classes. The batch
shape is the NumPy broadcast of the parameters' batch dims, or ``size`` when
given (``size`` is the full batch shape, as in NumPy).

Graph semantics
---------------
* ``perform`` never mutates its input generator: it draws from a copy and
  returns that copy as ``next_rng``. Reusing a generator variable therefore
  repeats its stream; thread ``next_rng`` into the next draw, or use one
  generator per random variable (``rng=None`` makes a fresh one).
* Two draws with the same op, generator, size and parameters are the same
  value, so the merge pass may compute them once; draws from different
  generators are different nodes and are never merged.
* Random nodes are never constant-folded.
* Draws are not differentiable in their parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tessera.config import config
from tessera.graph.basic import Apply, Variable
from tessera.graph.null import NonDifferentiable, disconnected
from tessera.graph.op import Op
from tessera.ops.basic import as_tensor, constant
from tessera.ops.broadcasting import broadcast_static_shapes
from tessera.ops.signature import parse_signature
from tessera.ops.static import static_vector_entries
from tessera.ops.type import TensorType, shape_str
from tessera.random.type import (
    RNG_TYPE,
    NoneConst,
    RandomGeneratorType,
    copy_generator,
    is_none_const,
)
from tessera.random.type import (
    rng as make_rng,
)


def _as_size(size: Any) -> Variable:
    """``size`` as :data:`NoneConst` or an int64 vector variable."""
    if size is None or (isinstance(size, Variable) and is_none_const(size)):
        return NoneConst
    if isinstance(size, int | np.integer):
        size = (int(size),)
    if isinstance(size, Variable):
        v = size
    else:
        size = list(size)
        if any(s is None for s in size):
            raise TypeError(f"size entries must be ints or int scalars, got {size}")
        if any(isinstance(s, Variable) for s in size):
            from tessera.ops.shape import make_vector

            v = make_vector(*size)
        else:
            v = constant(np.array(size, dtype=np.int64).reshape(-1))
    if v.ndim != 1 or v.dtype not in ("int64", "int32", "int16", "int8"):
        raise TypeError(f"size must be None or a vector of ints, got {v} ({v.type})")
    if v.dtype != "int64":
        v = v.astype("int64")
    return v


def _as_rng(rng: Any) -> Variable:
    if rng is None:
        return make_rng()
    if isinstance(rng, Variable):
        if not isinstance(rng.type, RandomGeneratorType):
            raise TypeError(
                f"rng must be a random generator variable (tessera.random.rng()), "
                f"got {rng} of type {rng.type}"
            )
        return rng
    if isinstance(rng, np.random.Generator):
        return make_rng(rng)
    raise TypeError(f"rng must be a generator variable, a Generator or None: {rng!r}")


def _broadcast_dims(dims: Sequence) -> Any:
    """Broadcast of several sizes of one dim (ints or int64 scalars)."""
    from tessera.ops.math import eq, switch

    dims = [d for d in dims if not (isinstance(d, int) and d == 1)]
    if not dims:
        return 1
    known = [d for d in dims if isinstance(d, int)]
    if known:
        return known[0]
    out = dims[0]
    for d in dims[1:]:
        out = switch(eq(out, 1), d, out)
    return out


def broadcast_params(
    params: Sequence[np.ndarray], ndims_params: Sequence[int], size: tuple
) -> list[np.ndarray]:
    """Broadcast each parameter's batch dims to ``size`` (a read-only view).

    For ``rng_fn`` implementations whose parameters have core dims.

    Examples
    --------
    >>> p = np.array([0.2, 0.8])
    >>> broadcast_params([p], [1], (3,))[0].shape
    (3, 2)
    """
    out = []
    for p, nd in zip(params, ndims_params):
        p = np.asarray(p)
        core = p.shape[p.ndim - nd :]
        out.append(np.broadcast_to(p, tuple(size) + core))
    return out


class RandomVariable(Op):
    """Base class of random-variable ops.

    Subclasses set the class attributes ``name``, ``signature`` (gufunc style,
    one output: the draw's core dims), ``dtype`` (``"floatX"`` for
    :data:`tessera.config.floatX`, or a NumPy dtype name), optionally
    ``param_names`` (for error messages), and implement :meth:`rng_fn`.

    Calling an instance, ``op(*params, size=None, rng=None)``, returns the
    draw; ``draw.owner.outputs[0]`` is the generator after the draw.

    Optionally, ``scipy_dist(*params)`` returns the equivalent frozen
    ``scipy.stats`` distribution for NumPy parameters; samplers that need a
    CDF or its inverse (e.g. truncation) use it.

    Examples
    --------
    >>> import tessera as ts
    >>> class UniformRV(RandomVariable):
    ...     name, signature, dtype = "uniform", "(),()->()", "floatX"
    ...     def rng_fn(self, rng, low, high, size):
    ...         return rng.uniform(low, high, size=size)
    >>> from tessera.random import rng
    >>> x = UniformRV()(0.0, ts.constant([1.0, 2.0]), rng=rng(0))
    >>> x.type.shape
    (2,)
    >>> x.eval().shape
    (2,)
    """

    name: str = "random_variable"
    signature: str = "()->()"
    dtype: str = "floatX"
    param_names: tuple[str, ...] = ()
    __props__ = ("name", "signature", "dtype")
    scipy_dist: Any = None

    def __init__(
        self,
        name: str | None = None,
        signature: str | None = None,
        dtype: str | None = None,
    ):
        if name is not None:
            self.name = name
        if signature is not None:
            self.signature = signature
        if dtype is not None:
            self.dtype = dtype if dtype == "floatX" else np.dtype(dtype).name
        sig = parse_signature(self.signature)
        if len(sig.outputs) != 1:
            raise ValueError(
                f"{type(self).__name__}: signature {self.signature!r} must have "
                "exactly one output (the draw)"
            )

    # --- static description -------------------------------------------------
    @property
    def ndims_params(self) -> tuple[int, ...]:
        """Core ndims of each parameter."""
        return parse_signature(self.signature).input_ndims

    @property
    def ndim_supp(self) -> int:
        """Core ndims of a draw (the event ndim)."""
        return parse_signature(self.signature).output_ndims[0]

    def out_dtype(self) -> str:
        """The draw's dtype (``"floatX"`` resolved now)."""
        return config.floatX if self.dtype == "floatX" else self.dtype

    def __str__(self) -> str:
        return f"{self.name}_rv"

    def _param_label(self, k: int) -> str:
        if k < len(self.param_names):
            return f"parameter {self.param_names[k]!r}"
        return f"parameter {k}"

    def rng_fn(self, rng: np.random.Generator, *params: np.ndarray, size: tuple):
        """Draw with NumPy. Vectorized: never loop over batch elements.

        ``size`` is the full batch shape (a tuple); each parameter's batch dims
        broadcast to it. Returns an array of shape ``size + event_shape``.
        """
        raise NotImplementedError(f"{type(self).__name__}.rng_fn")

    def supp_shape_from_params(
        self, params: Sequence[Variable], param_shapes: Sequence[tuple] | None = None
    ) -> tuple:
        """Event shape of a draw from the parameters.

        With ``param_shapes`` None: static sizes (int or None). Otherwise
        symbolic sizes from ``param_shapes`` (one tuple per parameter).
        The default reads the signature; override it when the event shape
        depends on a parameter's value (e.g. an LKJ ``n``).
        """
        sig = parse_signature(self.signature)
        out = []
        for d in sig.outputs[0]:
            if d.isdigit():
                out.append(int(d))
                continue
            for k, (p, dims) in enumerate(zip(params, sig.inputs)):
                if d in dims:
                    axis = p.ndim - len(dims) + dims.index(d)
                    if param_shapes is None:
                        out.append(p.type.shape[axis])
                    else:
                        out.append(param_shapes[k][axis])
                    break
        return tuple(out)

    # --- graph construction -------------------------------------------------
    def __call__(self, *params: Any, size: Any = None, rng: Any = None, name=None):
        node = self.make_node(rng, size, *params)
        draw = node.outputs[1]
        if name is not None:
            draw.name = name
        return draw

    def make_node(self, rng, size, *params) -> Apply:
        rng = _as_rng(rng)
        size = _as_size(size)
        sig = parse_signature(self.signature)
        if len(params) != len(sig.inputs):
            raise TypeError(
                f"{self.name} takes {len(sig.inputs)} parameters "
                f"(signature {self.signature!r}), got {len(params)}"
            )
        params = [as_tensor(p) for p in params]
        for k, (p, nd) in enumerate(zip(params, sig.input_ndims)):
            if p.ndim < nd:
                raise ValueError(
                    f"{self.name}: {self._param_label(k)} needs at least {nd} dims "
                    f"(signature {self.signature!r}), got shape "
                    f"{shape_str(p.type.shape)}"
                )
        sig.bind_static(
            [p.type.shape[p.ndim - nd :] for p, nd in zip(params, sig.input_ndims)],
            self.name,
        )
        batch_shapes = [
            p.type.shape[: p.ndim - nd] for p, nd in zip(params, sig.input_ndims)
        ]
        if is_none_const(size):
            batch = broadcast_static_shapes(batch_shapes, self.name)
        else:
            batch = self._static_batch_with_size(size, batch_shapes)
        core = self.supp_shape_from_params(params)
        out = TensorType(self.out_dtype(), tuple(batch) + tuple(core))
        return Apply(self, [rng, size, *params], [RNG_TYPE, out])

    def _static_batch_with_size(self, size: Variable, batch_shapes) -> tuple:
        entries = list(static_vector_entries(size))
        for k, bs in enumerate(batch_shapes):
            bad = len(bs) > len(entries)
            for j in range(1, min(len(bs), len(entries)) + 1):
                p, s = bs[-j], entries[-j]
                if p is not None and s is not None and p != 1 and p != s:
                    bad = True
                if s is None and p not in (None, 1):
                    entries[-j] = p
            if bad:
                raise ValueError(
                    f"{self.name}: {self._param_label(k)} has batch shape "
                    f"{shape_str(bs)}, which does not broadcast to size "
                    f"{shape_str(static_vector_entries(size))}"
                )
        return tuple(entries)

    # --- evaluation -----------------------------------------------------------
    def _batch_shape(self, size, params) -> tuple:
        shapes = [
            np.shape(p)[: np.ndim(p) - nd] for p, nd in zip(params, self.ndims_params)
        ]
        if size is None:
            try:
                return np.broadcast_shapes(*shapes)
            except ValueError:
                raise ValueError(
                    f"{self.name}: parameter batch shapes {shapes} do not broadcast"
                ) from None
        size = tuple(int(s) for s in size)
        for k, s in enumerate(shapes):
            try:
                ok = np.broadcast_shapes(size, s) == size
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(
                    f"{self.name}: {self._param_label(k)} has batch shape {s}, "
                    f"which does not broadcast to size {size}"
                )
        return size

    def perform(self, node, inputs, output_storage):
        rng, size, *params = inputs
        batch = self._batch_shape(size, params)
        rng = copy_generator(rng)
        draw = np.asarray(self.rng_fn(rng, *params, size=batch))
        out = node.outputs[1]
        if draw.shape[: len(batch)] != batch or draw.ndim != out.ndim:
            raise AssertionError(
                f"{self.name}.rng_fn returned shape {draw.shape}, expected batch "
                f"shape {batch} and {self.ndim_supp} event dims"
            )
        output_storage[0][0] = rng
        output_storage[1][0] = draw.astype(out.type.numpy_dtype, copy=False)

    def do_constant_folding(self, node: Apply) -> bool:
        return False

    def infer_shape(self, node, input_shapes):
        from tessera.ops.subtensor import getitem

        rng, size, *params = node.inputs
        static = node.outputs[1].type.shape
        n_batch = node.outputs[1].ndim - self.ndim_supp
        batch: list = []
        if not is_none_const(size):
            for k in range(n_batch):
                batch.append(static[k] if static[k] is not None else getitem(size, k))
        else:
            p_shapes = input_shapes[2:]
            for axis in range(n_batch):
                if static[axis] is not None:
                    batch.append(static[axis])
                    continue
                dims = []
                for p, shp, nd in zip(params, p_shapes, self.ndims_params):
                    j = axis - (n_batch - (p.ndim - nd))
                    if j >= 0 and p.type.shape[j] != 1:
                        dims.append(shp[j])
                batch.append(_broadcast_dims(dims))
        core = self.supp_shape_from_params(params, input_shapes[2:])
        core = [s if s is not None else c for s, c in zip(static[n_batch:], core)]
        return [(), tuple(batch) + tuple(core)]

    def pullback(self, inputs, outputs, cotangents):
        why = f"draws of {self.name} are not differentiable in its parameters"
        return [disconnected, disconnected] + [
            NonDifferentiable(self, why) for _ in inputs[2:]
        ]

    def vectorize_node(self, node, *batched_inputs):
        """Batch the parameters (and prepend their batch dims to ``size``)."""
        from tessera.ops.shape import concatenate, make_vector
        from tessera.ops.shape import shape_i as _shape_i
        from tessera.ops.vectorize import pad_core

        rng, size, *params = batched_inputs
        if not is_none_const(size) and size.ndim != 1:
            raise NotImplementedError(
                f"vectorize_graph: {self.name} cannot batch its size input"
            )
        old = node.inputs[2:]
        bs = [p.ndim - o.ndim for p, o in zip(params, old)]
        nb = max(bs, default=0)
        if nb == 0:
            return self.make_node(rng, size, *params).outputs
        old_batch_ndim = node.outputs[1].ndim - self.ndim_supp
        new_params = [
            pad_core(p, b, old_batch_ndim + nd)
            for p, b, nd in zip(params, bs, self.ndims_params)
        ]
        if is_none_const(size):
            return self.make_node(rng, size, *new_params).outputs
        lead = []
        for j in range(nb):
            dims = [
                _shape_i(p, j - (nb - b)) for p, b in zip(params, bs) if j >= nb - b
            ]
            lead.append(_broadcast_dims(dims))
        new_size = concatenate([make_vector(*lead), size])
        return self.make_node(rng, new_size, *new_params).outputs


def rv_params(var: Variable) -> list[Variable]:
    """The parameters of the random variable that drew ``var``.

    Examples
    --------
    >>> from tessera import ppl
    >>> x = ppl.Normal.dist(1.0, 2.0)
    >>> [float(p.data) for p in rv_params(x)]
    [1.0, 2.0]
    """
    node = var.owner
    if node is None or not isinstance(node.op, RandomVariable):
        raise TypeError(f"{var} is not drawn by a random variable")
    return list(node.inputs[2:])
