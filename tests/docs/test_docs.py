"""The documentation is executable and accurate.

* every ```python block of every page in docs/ runs (the blocks of one
  page share a namespace, in order);
* the batch/event shape table of docs/batching.md matches the library;
* the distribution tables of docs/distributions.md are what
  docs/gen_distributions.py generates from the code.
"""

from __future__ import annotations

import contextlib
import io
import re
import runpy
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> list[str]:
    return FENCE.findall(page.read_text())


# the pages whose blocks sample for long run in a pytest subprocess, in the
# background while the suite goes on (tests/_background.py)
HEAVY = {"inference.md"}


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(p, marks=pytest.mark.background) if p.name in HEAVY else p
        for p in PAGES
    ],
    ids=[p.name for p in PAGES],
)
def test_code_blocks_run(page):
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for k, block in enumerate(python_blocks(page)):
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                exec(compile(block, f"{page.name}[block {k}]", "exec"), namespace)
            except Exception as e:  # name the page and block
                raise AssertionError(f"{page.name}, python block {k}: {e!r}") from e


def _shape(text: str) -> tuple:
    return tuple(int(v) for v in re.findall(r"\d+", text))


def test_batching_table_matches_the_library():
    from tessera import ppl

    rows = [
        line
        for line in (DOCS / "batching.md").read_text().splitlines()
        if line.startswith("| `") and ".dist" not in line and "(" in line
    ]
    checked = 0
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != 5:
            continue
        expr = cells[0].strip("`")
        name, args = expr.split("(", 1)
        args = args.replace("Exponential(", "ppl.Exponential.dist(")
        d = eval(f"ppl.{name}.dist({args}", {"ppl": ppl, "np": np})
        n_event = d.owner.op.ndim_supp
        shape = d.type.shape
        value = ppl.draw(d, random_seed=0)
        got = (
            shape[: len(shape) - n_event],
            shape[len(shape) - n_event :],
            shape,
            ppl.logp(d, value).eval().shape,
        )
        assert got == tuple(_shape(c) for c in cells[1:]), line
        checked += 1
    assert checked >= 10


def test_distribution_tables_are_generated_from_the_code():
    gen = runpy.run_path(str(DOCS / "gen_distributions.py"))
    text = (DOCS / "distributions.md").read_text()
    assert gen["updated"](text) == text, (
        "docs/distributions.md is out of date: run python docs/gen_distributions.py"
    )


def test_every_distribution_is_documented():
    from tessera import ppl

    text = (DOCS / "distributions.md").read_text()
    gen = runpy.run_path(str(DOCS / "gen_distributions.py"))
    for cls in gen["distribution_classes"]():
        assert f"**{cls.__name__}**" in text, cls.__name__
    assert ppl  # the classes come from tessera.ppl


def _resolve(path: str):
    """The object a dotted name of the docs refers to (ts., ppl. or tessera.)."""
    import importlib

    import tessera
    from tessera import ppl

    head, *rest = path.split(".")
    obj = {"ts": tessera, "ppl": ppl, "tessera": tessera}[head]
    for k, part in enumerate(rest):
        if not hasattr(obj, part):  # a submodule not imported by its package
            obj = importlib.import_module(".".join(["tessera", *rest[: k + 1]]))
        else:
            obj = getattr(obj, part)
    return obj


def _mapping_rows():
    for line in (DOCS / "pymc-mapping.md").read_text().splitlines():
        if not line.startswith(("| `", "| (")):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2:
            yield cells[0], cells[1]


def test_pymc_mapping_names_exist():
    import tessera
    from tessera import ppl

    present = missing = 0
    for theirs, ours in _mapping_rows():
        if ours == "—":
            for name in re.findall(r"`(?:pm|pt|pytensor)\.([\w.]+)", theirs):
                last = name.split(".")[-1]
                assert not hasattr(ppl, last) and not hasattr(tessera, last), (
                    f"tessera now has {name}: update docs/pymc-mapping.md"
                )
                missing += 1
            continue
        for path in re.findall(r"((?:ts|ppl|tessera)\.[\w.]+)", ours):
            if path.endswith(".X.dist") or path.endswith(".X"):
                continue
            assert _resolve(path) is not None, path
            present += 1
    assert present > 80 and missing > 20


PATH_REF = re.compile(
    r"`((?:src|tests|benchmarks|docs|examples)/[\w./-]+?)(?:::[\w.]+)?`"
)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_file_paths_in_docs_exist(page):
    """Every repository path a page names (``src/...``, ``tests/...``) exists,
    so maps such as graph-engine.md's "Where things live" stay true."""
    missing = [p for p in PATH_REF.findall(page.read_text()) if not (ROOT / p).exists()]
    assert not missing, f"{page.name} names files that do not exist: {missing}"
