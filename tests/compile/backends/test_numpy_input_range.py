"""The NumPy backend's input filter refuses floats outside the input's dtype
range (issue #23: 1e300 into a float32 input became inf)."""

import warnings

import numpy as np
import pytest

import tessera as ts


@pytest.mark.parametrize(
    "value, match",
    [
        (1e300, r"input 0 'x' of type float32\(\): the value 1e\+300 is outside"),
        (np.float64(-1e39), "the value -1e[+]39 is outside the range of float32"),
    ],
)
def test_float_outside_the_dtype_range_raises(value, match):
    x = ts.scalar("x", dtype="float32")
    f = ts.function([x], x * 2)
    with pytest.raises(ValueError, match=match):
        f(value)


def test_overflow_in_an_array_names_the_index_and_finite_values_pass():
    y = ts.tensor("y", shape=(None,), dtype="float32")
    f = ts.function([y], y + 1.0)
    with pytest.raises(ValueError, match=r"the value 2e\+40 at index \(1,\)"):
        f([1.0, 2e40])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(f([1.0, 3e38]), np.float32([2.0, 3e38]))
        assert f([np.inf])[0] == np.inf  # an inf given is not an overflow
        np.testing.assert_allclose(f(np.float64([0.5])), [1.5])
