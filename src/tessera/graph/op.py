"""The Op base class: the contract every operation implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tessera.graph.basic import Apply, Variable


class Op:
    """An operation in a graph. Immutable and hashable by ``__props__``.

    Subclasses implement:

    - ``make_node(*inputs) -> Apply``: convert inputs, infer output types,
      and raise at graph-build time on statically detectable errors;
    - ``perform(node, inputs, output_storage)``: the NumPy reference
      implementation, writing ``output_storage[i][0]``;
    - ``pullback(inputs, outputs, cotangents) -> list``: symbolic
      vector-Jacobian product, one entry per input (a Variable or a sentinel
      from :mod:`tessera.graph.null`);
    - ``infer_shape(node, input_shapes) -> list``: symbolic output shapes;
    - optionally ``signature``: a gufunc signature such as ``"(m,m)->(m,m)"``.

    Examples
    --------
    >>> import numpy as np
    >>> import tessera as ts
    >>> from tessera.graph.op import Op
    >>> from tessera.graph.basic import Apply
    >>> class Double(Op):
    ...     __props__ = ()
    ...     def make_node(self, x):
    ...         x = ts.as_tensor(x)
    ...         return Apply(self, [x], [x.type])
    ...     def perform(self, node, inputs, out):
    ...         out[0][0] = 2 * inputs[0]
    ...     def pullback(self, inputs, outputs, cotangents):
    ...         return [2 * cotangents[0]]
    >>> Double()(ts.constant(np.ones(2))).eval()
    array([2., 2.])
    """

    __props__: tuple[str, ...] = ()
    signature: str | None = None
    #: True when ``perform`` may return a view of its first input (reshape,
    #: transpose, basic indexing, ...); the linker copies such outputs when
    #: they would alias a caller's array or a constant.
    returns_view: bool = False

    def _props(self) -> tuple:
        return tuple(getattr(self, p) for p in self.__props__)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._props() == other._props()

    def __hash__(self) -> int:
        return hash((type(self), self._props()))

    def __str__(self) -> str:
        name = type(self).__name__
        if not self.__props__:
            return name
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.__props__)
        return f"{name}{{{args}}}"

    __repr__ = __str__

    def make_node(self, *inputs: Any) -> Apply:
        raise NotImplementedError(f"{type(self).__name__}.make_node")

    def __call__(self, *inputs: Any, **kwargs: Any):
        node = self.make_node(*inputs, **kwargs)
        if len(node.outputs) == 1:
            return node.outputs[0]
        return node.outputs

    def perform(self, node: Apply, inputs: Sequence[Any], output_storage: list) -> None:
        raise NotImplementedError(f"{self} has no perform implementation")

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Any],
    ) -> list:
        from tessera.graph.null import NonDifferentiable

        return [NonDifferentiable(self, "no pullback defined") for _ in inputs]

    def infer_shape(self, node: Apply, input_shapes: Sequence[tuple]) -> list:
        raise NotImplementedError(f"{self} has no infer_shape")

    def vectorize_node(self, node: Apply, *batched_inputs: Variable) -> list:
        """Outputs of ``node`` recomputed from inputs with extra leading batch dims.

        ``batched_inputs[i].ndim - node.inputs[i].ndim`` is the number of batch
        dims of input ``i`` (0: the input is shared by the whole batch). Batch
        dims broadcast between inputs with NumPy rules. Returning
        ``NotImplemented`` (the default) asks for the generic rule of
        :func:`tessera.ops.vectorize.vectorize_node`: ops with a gufunc
        ``signature`` are wrapped in ``Blockwise``. Ops with another batching
        rule override this.
        """
        return NotImplemented

    def do_constant_folding(self, node: Apply) -> bool:
        """Whether the constant-folding pass may evaluate this node."""
        return True
