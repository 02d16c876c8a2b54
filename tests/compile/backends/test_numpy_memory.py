"""The NumPy backend's malloc tuning: applied once, on glibc, unless opted out."""

import pytest
from _fresh_process import last_line

from tessera.compile.backends.numpy import memory

SCRIPT = """
import tessera as ts
{setup}
x = ts.vector("x")
ts.function([x], x + 1)
from tessera.compile.backends.numpy.memory import tune_malloc
print(tune_malloc())
"""

glibc = memory._glibc() is not None


def run(env_extra: dict, setup: str = "") -> str:
    return last_line(SCRIPT.format(setup=setup), env_extra, ("MALLOC_", "TESSERA_TUNE"))


@pytest.mark.parametrize(
    "env, setup, expected",
    [
        ({}, "", str(glibc)),
        ({"TESSERA_TUNE_MALLOC": "0"}, "", "False"),
        ({"MALLOC_MMAP_THRESHOLD_": "1048576"}, "", "False"),
        ({"MALLOC_TRIM_THRESHOLD_": "1048576"}, "", "False"),
        ({}, "ts.config.tune_malloc = False", "False"),
    ],
    ids=["default", "env-off", "user-mmap", "user-trim", "config-off"],
)
def test_tune_malloc_applies_unless_opted_out(env, setup, expected):
    assert run(env, setup) == expected
