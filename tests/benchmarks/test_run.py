"""benchmarks/run.py: the report keeps the sections that ``--only`` did not re-run."""

from pathlib import Path

from _scripts import load_script

run = load_script("run")


def _script(name: str) -> Path:
    return run.HERE / f"{name}.py"


def test_only_keeps_other_sections(tmp_path):
    first = run.report(
        [
            (_script("overhead"), "### Overhead\n\n| a |\n|---|\n| 1 |", 3.0, True),
            (_script("scan"), "### Scan\n\nold numbers", 5.0, True),
        ],
        False,
        "python benchmarks/run.py",
    )
    out = tmp_path / "report.md"
    out.write_text(first)
    kept = run.previous_sections(out)
    assert set(kept) == {"overhead", "scan"}
    assert kept["overhead"].startswith("_ran ") and "| 1 |" in kept["overhead"]

    second = run.report(
        [(_script("scan"), "### Scan\n\nnew numbers", 7.0, False)],
        True,
        "python benchmarks/run.py --only scan",
        kept,
    )
    assert "new numbers" in second and "old numbers" not in second
    assert "| 1 |" in second  # overhead's section kept
    # sections in ORDER, each listed once in the contents with when it ran
    assert second.index('<a id="overhead">') < second.index('<a id="scan">')
    contents = [ln for ln in second.splitlines() if ln.startswith("- [")]
    assert [c.split("]")[0] for c in contents] == ["- [overhead.py", "- [scan.py"]
    assert "quick mode" in contents[1] and "(failed)" in second
    # a report parsed again gives the same sections
    out.write_text(second)
    assert set(run.previous_sections(out)) == {"overhead", "scan"}
