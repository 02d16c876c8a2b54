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


def test_xdg_default_is_off_on_cpu(tmp_path):
    # jaxlib's CPU loader logs SIGILL errors for every cached program
    # (jax-ml/jax#38445): the default folder is used only when chosen
    assert run({"XDG_CACHE_HOME": str(tmp_path)}) == "None"
    assert not os.path.exists(tmp_path / "tessera")


def test_default_folder_chosen_in_code(tmp_path):
    setup = f"import tessera; tessera.config.jax_cache_dir = {str(tmp_path)!r}"
    assert run({}, setup) == str(tmp_path)


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
