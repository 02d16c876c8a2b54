"""docs/pymc-mapping.md cannot drift from the code.

* every code-formatted ``ppl.X`` name on the page (``ppl.sample``,
  ``ppl.math.invlogit``, ``ppl.distributions.transforms.ordered``, ...)
  resolves as an attribute of ``tessera.ppl``, and every ``model.X`` as an
  attribute of ``ppl.Model``;
* every keyword of the page's keyword tables for ``ppl.sample``,
  ``ppl.fit`` and ``ppl.find_MAP`` is a parameter of that function, and
  every keyword of a "not supported" table is not, and is refused with an
  error naming it;
* the distribution table and the ``ppl.math`` list are what this module
  generates from ``ppl.__all__`` and ``ppl.math.__all__``: after adding a
  distribution, run ``python tests/docs/test_pymc_mapping.py`` to rewrite
  them;
* where PyMC is installed, every ``pm.X`` name the page cites exists in it.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from tessera import ppl

PAGE = Path(__file__).resolve().parents[2] / "docs" / "pymc-mapping.md"
CODE = re.compile(r"`([^`\n]+)`")
#: ``ppl.sample`` keywords taken through ``**kwargs`` (as PyMC does)
SAMPLE_VIA_KWARGS = {"nuts"}
#: PyMC names the page cites that newer PyMC releases removed
PYMC_REMOVED = {"MutableData", "ConstantData", "Bound"}
#: distributions of tessera that PyMC does not have
TESSERA_ONLY = {"InverseWishart", "LKJCholesky", "LowRankMvNormal"}
#: section headings of the generated distribution table, by the module a
#: class is defined in (below tessera.ppl.distributions)
KINDS = {
    "base": "base classes",
    "continuous": "continuous",
    "discrete": "discrete",
    "multivariate": "multivariate",
    "matrix": "matrix-valued and LKJ",
    "timeseries": "time series",
    "mixture": "mixtures and zero-inflated",
    "truncated": "truncated and censored",
    "censored": "truncated and censored",
    "custom": "user-defined",
}


# --- generated blocks ---------------------------------------------------


def distribution_names() -> list[str]:
    """Every distribution class ``ppl`` exports, as ``ppl.__all__`` lists them."""
    return sorted(
        n
        for n in ppl.__all__
        if inspect.isclass(getattr(ppl, n))
        and issubclass(getattr(ppl, n), ppl.Distribution)
    )


def _kind(name: str) -> str:
    module = getattr(ppl, name).__module__.removeprefix("tessera.ppl.distributions.")
    head = module.split(".")[0]
    return KINDS.get(head, head)


def distribution_table() -> str:
    """The table of every distribution, one row per kind."""
    rows = ["| PyMC | tessera | kind |", "|---|---|---|"]
    names = distribution_names()
    for kind in dict.fromkeys(KINDS.values()):
        group = [n for n in names if _kind(n) == kind]
        both = [n for n in group if n not in TESSERA_ONLY]
        ours = [n for n in group if n in TESSERA_ONLY]
        if both:
            rows.append(
                f"| {', '.join(f'`pm.{n}`' for n in both)} | "
                f"{', '.join(f'`ppl.{n}`' for n in both)} | {kind} |"
            )
        if ours:
            rows.append(
                f"| (not in PyMC) | {', '.join(f'`ppl.{n}`' for n in ours)} | "
                f"{kind}, tessera only |"
            )
    unknown = [n for n in names if _kind(n) not in KINDS.values()]
    assert not unknown, f"add the module of {unknown} to KINDS"
    return "\n".join(rows)


def math_list() -> str:
    """Every name of ``ppl.math.__all__``, code-formatted, wrapped."""
    words = [f"`ppl.math.{n}`" for n in sorted(ppl.math.__all__)]
    lines, line = [], ""
    for w in words:
        if len(line) + len(w) + 2 > 76:
            lines.append(line.rstrip())
            line = ""
        line += w + ", "
    lines.append(line.rstrip(", ") + ".")
    return "\n".join(lines)


GENERATED = {"distributions": distribution_table, "math": math_list}


def _block(text: str, key: str) -> re.Match:
    pattern = re.compile(
        rf"(<!-- BEGIN GENERATED {key} by tests/docs/test_pymc_mapping.py -->\n)"
        r"(.*?)"
        r"(<!-- END GENERATED -->)",
        re.S,
    )
    m = pattern.search(text)
    assert m is not None, f"docs/pymc-mapping.md lacks the generated block {key!r}"
    return m


def updated(text: str) -> str:
    """``text`` with every generated block rewritten from the code."""
    for key, make in GENERATED.items():
        m = _block(text, key)
        text = text[: m.start(2)] + make() + "\n" + text[m.end(2) :]
    return text


# --- page parsing ---------------------------------------------------------


def _text() -> str:
    return PAGE.read_text()


def _section(title_start: str) -> str:
    """The text of the section whose heading starts with ``title_start``."""
    text = _text()
    start = text.index(f"\n{title_start}")
    level = title_start.split(" ")[0]
    rest = text[start + 1 :]
    end = re.search(rf"\n#{{1,{len(level)}}} ", rest)
    return rest[: end.start()] if end else rest


def _table_keywords(section: str, table: str) -> list[str]:
    """The keywords in the first column of the first table after heading
    ``table`` in ``section`` (the header row, naming the function, skipped)."""
    body = _section(section)
    lines = body[body.index(table) :].splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("|"))
    names = []
    for line in lines[start + 2 :]:  # past the header and |---| rows
        if not line.startswith("|"):
            break  # the table ends at the first line that is not a row
        first = line.strip("|").split("|")[0]
        names += [re.match(r"\w+", c).group() for c in CODE.findall(first)]
    assert names, f"no keywords under {table!r}"
    return names


# --- tests ---------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model():
    """A two-variable model: the keyword checks raise before compiling it."""
    with ppl.Model() as model:
        x = ppl.Normal("x", 0.0, 1.0)
        ppl.Normal("y", x, 1.0, observed=np.zeros(3))
    return model


def test_generated_blocks_are_current():
    text = _text()
    assert updated(text) == text, (
        "docs/pymc-mapping.md is out of date: run python tests/docs/test_pymc_mapping.py"
    )


def test_every_distribution_is_listed():
    names = distribution_names()
    assert {
        "Normal",
        "NormalMixture",
        "CustomDist",
        "Censored",
        "LKJCholeskyCov",
    } <= set(names)
    table = _block(_text(), "distributions").group(2)
    for n in names:
        assert f"`ppl.{n}`" in table, n


def test_every_ppl_name_resolves():
    checked = 0
    for code in CODE.findall(_text()):
        for path in re.findall(r"(?<![\w.])ppl\.([A-Za-z_][\w.]*\w)", code):
            if "X" in path.split("."):  # the placeholder of `ppl.X.dist(...)`
                continue
            obj = ppl
            for part in path.split("."):
                assert hasattr(obj, part), f"ppl.{path} (in `{code}`) does not exist"
                obj = getattr(obj, part)
            checked += 1
        for attr in re.findall(r"(?<![\w.])model\.(\w+)", code):
            assert hasattr(ppl.Model, attr), (
                f"Model.{attr} (in `{code}`) does not exist"
            )
            checked += 1
    assert checked > 200


@pytest.mark.parametrize(
    ("section", "table", "fn"),
    [
        ("## Sampling", "### Keywords", ppl.sample),
        ("## Sampling", "### tessera-only keywords", ppl.sample),
        ("## Variational inference", "### Keywords", ppl.fit),
        ("## MAP", "### Keywords", ppl.find_MAP),
    ],
)
def test_keyword_tables_are_parameters(section, table, fn):
    params = inspect.signature(fn).parameters
    keywords = _table_keywords(section, table)
    for kw in keywords:
        if fn is ppl.sample and kw in SAMPLE_VIA_KWARGS:
            continue  # checked by test_nuts_keyword_is_taken
        assert kw in params, f"{fn.__name__} has no parameter {kw!r} ({table})"


def test_nuts_keyword_is_taken(tiny_model):
    """``nuts={...}`` goes through ``**kwargs``, as in PyMC: its entries are
    read (a wrong one is named), not refused as an unknown keyword."""
    assert "nuts" in _table_keywords("## Sampling", "### Keywords")
    with pytest.raises(TypeError, match="not_a_nuts_option"):
        ppl.sample(model=tiny_model, progressbar=False, nuts={"not_a_nuts_option": 1})


@pytest.mark.parametrize(
    ("section", "fn"),
    [("## Sampling", ppl.sample), ("## Variational inference", ppl.fit)],
)
def test_unsupported_keywords_are_refused(section, fn, tiny_model):
    params = inspect.signature(fn).parameters
    keywords = _table_keywords(section, "### Not supported")
    for kw in keywords:
        assert kw not in params, (
            f"{kw} is a parameter of {fn.__name__} now: move its row"
        )
        with pytest.raises((NotImplementedError, TypeError), match=kw):
            fn(model=tiny_model, progressbar=False, **{kw: None})


@pytest.mark.parametrize("sampler", ["pymc", "numpyro"])
def test_pymc_only_samplers_are_refused(sampler, tiny_model):
    assert f'`nuts_sampler="{sampler}"`' in _section("## Sampling")
    with pytest.raises(NotImplementedError, match=sampler):
        ppl.sample(model=tiny_model, nuts_sampler=sampler, progressbar=False)


def test_pymc_names_exist_in_pymc():
    pm = pytest.importorskip("pymc")
    checked = 0
    for code in CODE.findall(_text()):
        for path in re.findall(r"(?<![\w.])pm\.([A-Za-z_][\w.]*\w)", code):
            if path in PYMC_REMOVED or path.endswith(("X", "X.dist")):
                continue
            obj = pm
            for part in path.split("."):
                assert hasattr(obj, part), f"pm.{path} is not in PyMC {pm.__version__}"
                obj = getattr(obj, part)
            checked += 1
    assert checked > 100


if __name__ == "__main__":  # rewrite the generated blocks
    new = updated(_text())
    PAGE.write_text(new)
    print(f"wrote {PAGE}", file=sys.stderr)
