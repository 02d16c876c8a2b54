"""The JAX backend's persistent compilation cache: where, and when left alone."""

import os

import pytest
from _fresh_process import last_line

pytest.importorskip("jax")

SCRIPT = """
import jax
{setup}
import tessera as ts
x = ts.vector("x")
ts.function([x], x + 1, backend="jax")
print(jax.config.jax_compilation_cache_dir)
"""


def run(env_extra: dict, setup: str = "") -> str:
    return last_line(SCRIPT.format(setup=setup), env_extra, ("TESSERA_JAX",))


def test_cache_dir_from_environment(tmp_path):
    path = str(tmp_path / "cache")
    assert run({"TESSERA_JAX_CACHE_DIR": path}) == path
    assert os.path.isdir(path)


def test_xdg_default(tmp_path):
    got = run({"XDG_CACHE_HOME": str(tmp_path)})
    assert got == os.path.join(str(tmp_path), "tessera", "jax")


@pytest.mark.parametrize(
    "env, setup, expected",
    [
        ({"TESSERA_JAX_CACHE_DIR": ""}, "", "None"),
        (
            {},
            "jax.config.update('jax_compilation_cache_dir', '/tmp/mine')",
            "/tmp/mine",
        ),
        (
            {},
            "import tessera; tessera.config.jax_cache_dir = None",
            "None",
        ),
    ],
    ids=["env-off", "user-configured-jax", "config-off"],
)
def test_cache_left_alone(env, setup, expected):
    assert run(env, setup) == expected
