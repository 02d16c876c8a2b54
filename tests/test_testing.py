"""tessera.testing helpers: they must catch wrong gradients."""

import numpy as np
import pytest

import tessera as ts
from tessera.graph.basic import Apply
from tessera.graph.op import Op
from tessera.testing import verify_grad


class WrongGradExp(Op):
    """exp with a deliberately wrong pullback (2 * g * exp(x))."""

    __props__ = ()

    def make_node(self, x):
        x = ts.as_tensor(x)
        return Apply(self, [x], [x.type])

    def perform(self, node, inputs, out):
        out[0][0] = np.exp(inputs[0])

    def pullback(self, inputs, outputs, cotangents):
        return [2.0 * cotangents[0] * outputs[0]]


def test_verify_grad_passes_correct_gradients():
    verify_grad(
        lambda x, y: ts.sin(x) * y, [np.array([0.1, 0.2]), np.array([1.5, -2.0])]
    )


def test_verify_grad_catches_a_wrong_gradient():
    with pytest.raises(AssertionError, match="differ"):
        verify_grad(lambda x: WrongGradExp()(x), [np.array([0.3, -0.4])])


def test_verify_grad_with_non_contiguous_inputs():
    a = np.arange(12.0).reshape(3, 4).T / 10  # Fortran-ordered view
    assert not a.flags.c_contiguous
    verify_grad(lambda x: (x**2).sum(axis=0), [a])
    with pytest.raises(AssertionError):
        verify_grad(lambda x: WrongGradExp()(x), [a])
