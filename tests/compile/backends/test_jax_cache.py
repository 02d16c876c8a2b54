"""The JAX backend's persistent compilation cache: where, and when left alone.

Each case runs in a fresh interpreter, in the background while the suite
goes on (``tests/_background.py``)."""

import os
import shutil
import tempfile

import pytest
from _fresh_process import last_line

from _background import result

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


def in_folder(case: str) -> tuple[str, str, bool]:
    """Run ``case`` with a new folder: the cache folder the run reports, the
    folder, and whether the folder's ``cache`` (or ``tessera``) subfolder
    then exists (a background job)."""
    folder = tempfile.mkdtemp(prefix="jax-cache-")
    try:
        if case == "environment":
            path = os.path.join(folder, "cache")
            return run({"TESSERA_JAX_CACHE_DIR": path}), path, os.path.isdir(path)
        if case == "xdg":
            got = run({"XDG_CACHE_HOME": folder})
            return got, folder, os.path.exists(os.path.join(folder, "tessera"))
        setup = f"import tessera; tessera.config.jax_cache_dir = {folder!r}"
        return run({}, setup), folder, os.path.isdir(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.background(job=in_folder)
@pytest.mark.parametrize("case", ["environment"])
def test_cache_dir_from_environment(case):
    got, path, made = result(in_folder, case=case)
    assert got == path
    assert made


@pytest.mark.background(job=in_folder)
@pytest.mark.parametrize("case", ["xdg"])
def test_xdg_default_is_off_on_cpu(case):
    # jaxlib's CPU loader logs SIGILL errors for every cached program
    # (jax-ml/jax#38445): the default folder is used only when chosen
    got, _, made = result(in_folder, case=case)
    assert got == "None"
    assert not made


@pytest.mark.background(job=in_folder)
@pytest.mark.parametrize("case", ["in-code"])
def test_default_folder_chosen_in_code(case):
    got, folder, _ = result(in_folder, case=case)
    assert got == folder


def left_alone(case: str) -> str:
    """The cache folder a run reports (a background job)."""
    env, setup, _ = LEFT_ALONE[case]
    return run(env, setup)


LEFT_ALONE = {
    "env-off": ({"TESSERA_JAX_CACHE_DIR": ""}, "", "None"),
    "user-configured-jax": (
        {},
        "jax.config.update('jax_compilation_cache_dir', '/tmp/mine')",
        "/tmp/mine",
    ),
    "config-off": ({}, "import tessera; tessera.config.jax_cache_dir = None", "None"),
}


@pytest.mark.background(job=left_alone)
@pytest.mark.parametrize("case", list(LEFT_ALONE))
def test_cache_left_alone(case):
    assert result(left_alone, case=case) == LEFT_ALONE[case][2]
