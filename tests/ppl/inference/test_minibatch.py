import numpy as np
import pytest

import tessera as ts
from tessera.ppl.inference.minibatch import (
    Minibatch,
    minibatch_indices,
    minibatch_info,
    minibatch_updates,
)


def test_same_rows_for_arrays_given_together():
    X = np.arange(30.0).reshape(10, 3)
    y = np.arange(10)
    Xb, yb = Minibatch(X, y, batch_size=6, random_seed=0)
    assert Xb.type.shape == (6, 3) and yb.type.shape == (6,)
    assert yb.dtype == "int64"
    f = ts.function([], [Xb, yb], updates=minibatch_updates([Xb, yb]))
    seen = set()
    for _ in range(20):
        xv, yv = f()
        np.testing.assert_array_equal(xv, X[yv])
        seen.update(yv.tolist())
    assert seen == set(range(10))  # every row is drawn eventually


def test_rows_change_only_with_updates():
    xb = Minibatch(np.arange(100.0), batch_size=5, random_seed=1)
    frozen = ts.function([], xb)
    np.testing.assert_array_equal(frozen(), frozen())
    step = ts.function([], xb, updates=minibatch_updates(xb))
    assert not np.array_equal(step(), step())


def test_separate_calls_draw_independent_rows():
    a = Minibatch(np.arange(1000.0), batch_size=20, random_seed=0)
    b = Minibatch(np.arange(1000.0), batch_size=20, random_seed=1)
    assert len(minibatch_indices([a + b])) == 2
    assert len(minibatch_updates([a + b])) == 4
    f = ts.function([], [a, b], updates=minibatch_updates([a, b]))
    av, bv = f()
    assert not np.array_equal(av, bv)


def test_seed_reproducible_and_reseed():
    def rows(seed):
        xb = Minibatch(np.arange(50.0), batch_size=4, random_seed=seed)
        f = ts.function([], xb, updates=minibatch_updates(xb))
        return [f() for _ in range(3)]

    np.testing.assert_array_equal(rows(3), rows(3))
    xb = Minibatch(np.arange(50.0), batch_size=4, random_seed=0)
    info = minibatch_info(xb)
    info.reseed(7)
    first = info.index.get_value()
    info.reseed(7)
    np.testing.assert_array_equal(info.index.get_value(), first)


def test_info():
    xb = Minibatch(np.zeros((8, 2)), batch_size=2)
    info = minibatch_info(xb)
    assert (info.total_size, info.batch_size, info.scale) == (8, 2, 4.0)
    assert minibatch_info(info.index) is info
    assert minibatch_info(ts.vector("v")) is None


def test_shared_data():
    data = ts.shared(np.arange(6.0).reshape(3, 2))
    xb = Minibatch(data, batch_size=2, random_seed=0)
    assert xb.type.shape[0] == 2
    assert set(ts.function([], xb)()[:, 0]) <= {0.0, 2.0, 4.0}


@pytest.mark.parametrize(
    ("args", "kwargs", "err", "match"),
    [
        ((), {"batch_size": 2}, ValueError, "at least one array"),
        ((np.zeros(3), np.zeros(4)), {"batch_size": 2}, ValueError, "numbers of rows"),
        ((np.float64(1.0),), {"batch_size": 2}, ValueError, "0-d"),
        ((np.zeros((0, 2)),), {"batch_size": 2}, ValueError, "no rows"),
        ((np.zeros(3),), {"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ((np.zeros(3),), {"batch_size": 1.5}, TypeError, "batch_size must be an int"),
        ((ts.vector("v"),), {"batch_size": 2}, TypeError, "symbolic variable"),
    ],
)
def test_errors(args, kwargs, err, match):
    with pytest.raises(err, match=match):
        Minibatch(*args, **kwargs)
