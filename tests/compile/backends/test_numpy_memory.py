"""The NumPy backend's malloc tuning: an opt-in, applied once, on glibc,
unless the user's environment says otherwise; never a side effect of
compiling."""

import pytest
from _fresh_process import last_line

from tessera.compile.backends.numpy import memory

SCRIPT = """
import tessera as ts
from tessera.compile.backends.numpy import memory, tune_malloc
x = ts.vector("x")
ts.function([x], x + 1)
print(memory._state["done"])
{call}
print(memory._state["applied"])
"""

glibc = memory._glibc() is not None


def run(env_extra: dict, call: str = "tune_malloc()") -> str:
    return last_line(SCRIPT.format(call=call), env_extra, ("MALLOC_", "TESSERA_TUNE"))


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, str(glibc)),
        ({"TESSERA_TUNE_MALLOC": "0"}, "False"),
        ({"MALLOC_MMAP_THRESHOLD_": "1048576"}, "False"),
        ({"MALLOC_TRIM_THRESHOLD_": "1048576"}, "False"),
    ],
    ids=["opt-in", "env-off", "user-mmap", "user-trim"],
)
def test_tune_malloc_applies_unless_opted_out(env, expected):
    assert run(env) == expected


def test_compiling_does_not_tune_malloc():
    # the state is read after compiling and before any call of tune_malloc
    script = SCRIPT.format(call="").replace('print(memory._state["applied"])', "")
    assert last_line(script, {}, ("MALLOC_", "TESSERA_TUNE")) == "False"
