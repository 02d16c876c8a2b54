"""Run every benchmark and write the report ``docs/benchmarks.md``.

Each benchmark script in this folder (``overhead.py``, ``linalg.py``,
``rewrites.py``, ``scan.py``, ``distributions.py``, ``inference.py``, ``vi.py``,
``many_models.py``, and any other
``*.py`` not starting with ``_``) runs in its own interpreter, one after the
other, so that they do not share caches or threads; each prints Markdown
tables of medians and ratios (PyMC, PyTensor and NumPyro columns appear
where those libraries are installed: ``pip install -e ".[bench]"`` plus the
references you want). The report puts their outputs under one header with
the machine, the library versions, the date and the command.

Run: ``python benchmarks/run.py [--quick] [--only linalg,overhead]
[--out docs/benchmarks.md]``. ``--quick`` passes ``--quick`` to every
script that has it (fewer repeats, shorter chains: a smoke run whose
numbers are noisier; the report says so). With ``--only``, the other
sections of an existing report are kept; every section says when it ran.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# the order of the report; other scripts found in the folder come after
ORDER = [
    "overhead",
    "linalg",
    "rewrites",
    "scan",
    "distributions",
    "inference",
    "vi",
    "many_models",
]
LIBRARIES = [
    "tessera",
    "numpy",
    "scipy",
    "jax",
    "jaxlib",
    "nutpie",
    "arviz",
    "pymc",
    "pytensor",
    "numpyro",
]


def scripts() -> list[Path]:
    found = {p.stem: p for p in HERE.glob("*.py") if not p.name.startswith("_")}
    found.pop("run", None)
    names = [n for n in ORDER if n in found] + sorted(set(found) - set(ORDER))
    return [found[n] for n in names]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    return "unknown"


def machine_lines() -> list[str]:
    cores = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cores
    try:
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        load = "n/a"
    return [
        f"- CPU: {cpu_model()}, {cores} cores ({usable} usable), {memory_gib()} RAM",
        f"- OS: {platform.system()} {platform.release()} ({platform.machine()})",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- load average when the run started: {load}",
    ]


def version_lines() -> list[str]:
    out = []
    for lib in LIBRARIES:
        try:
            out.append(f"{lib} {metadata.version(lib)}")
        except metadata.PackageNotFoundError:
            out.append(f"{lib} (not installed)")
    return ["- " + ", ".join(out)]


def supports_quick(path: Path) -> bool:
    return "--quick" in path.read_text()


def demote(markdown: str) -> str:
    """Headings one level down, so that each script's sit under its section."""
    lines = []
    for line in markdown.splitlines():
        lines.append("#" + line if line.startswith("#") else line)
    return "\n".join(lines).strip()


def run_one(path: Path, quick: bool, timeout: float) -> tuple[str, float, bool]:
    cmd = [sys.executable, str(path)]
    if quick and supports_quick(path):
        cmd.append("--quick")
    env = dict(
        os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout if isinstance(e.stdout, str) else (e.stdout or b"").decode()
        return f"{out}\n\n**timed out after {timeout:.0f} s**", timeout, False
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        text = f"{proc.stdout}\n\n**failed (exit {proc.returncode})**:\n\n```text\n{tail}\n```"
        return text, elapsed, False
    return proc.stdout, elapsed, True


def section_meta(elapsed: float, quick: bool) -> str:
    """The line under a section's heading: when and how it ran."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    try:
        load = f"{os.getloadavg()[0]:.1f}"
    except OSError:
        load = "n/a"
    mode = ", quick mode" if quick else ""
    return f"_ran {now} in {elapsed:.0f} s, load average {load}{mode}_"


SECTION = re.compile(
    r'<a id="(?P<stem>[\w-]+)"></a>\n\n## (?P=stem)\.py\n\n(?P<body>.*?)(?=\n<a id="|\Z)',
    re.S,
)


def previous_sections(path: Path) -> dict[str, str]:
    """The sections of an earlier report, by script name (its Markdown body)."""
    if not path.exists():
        return {}
    return {m["stem"]: m["body"].strip() for m in SECTION.finditer(path.read_text())}


def report(
    results, quick: bool, command: str, kept: dict[str, str] | None = None
) -> str:
    """The Markdown report: header, then one section per script in ``ORDER``.

    ``kept`` holds sections of an earlier report (script name -> body) for
    scripts that did not run now (``--only``); each section's first line
    says when it ran.
    """
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks",
        "",
        "Generated by `benchmarks/run.py`; do not edit by hand. Each section is",
        "the Markdown output of one script in `benchmarks/` (its docstring",
        "says what it measures). Times are medians; each table's ratio",
        "columns say what they divide (for `tessera / X`, below 1 means",
        "tessera is faster). PyMC/PyTensor and NumPyro columns are filled",
        "where those libraries are installed and marked `not installed`",
        "otherwise. Timings on a shared or busy machine are noisy: the load",
        "average below tells how busy it was.",
        "",
        f"- date: {now}",
        f"- command: `{command}`",
    ]
    if quick:
        lines.append(
            "- **quick mode**: fewer repeats and shorter runs (smoke numbers, "
            "noisier than a full run)"
        )
    lines += ["", "## Machine", "", *machine_lines(), "", "## Library versions", ""]
    lines += [*version_lines(), ""]
    sections = {
        path.stem: (
            section_meta(elapsed, quick)
            + ("" if ok else " **(failed)**")
            + "\n\n"
            + demote(text)
        )
        for path, text, elapsed, ok in results
    }
    for stem, text in (kept or {}).items():
        sections.setdefault(stem, text)
    order = [n for n in ORDER if n in sections] + sorted(set(sections) - set(ORDER))
    lines += ["## Contents", ""]
    for stem in order:
        first = sections[stem].splitlines()[0]
        when = (
            first.strip("_")
            if first.startswith("_ran ")
            else "ran with an earlier report"
        )
        lines.append(f"- [{stem}.py](#{stem}): {when}")
    for stem in order:
        lines += ["", f'<a id="{stem}"></a>', "", f"## {stem}.py", ""]
        lines.append(sections[stem])
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke-size runs")
    parser.add_argument("--only", default=None, help="comma-separated script names")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds per script"
    )
    args = parser.parse_args(argv)
    selected = scripts()
    if args.only:
        wanted = {n.strip().removesuffix(".py") for n in args.only.split(",")}
        unknown = wanted - {p.stem for p in selected}
        if unknown:
            parser.error(f"no benchmark named {sorted(unknown)}")
        selected = [p for p in selected if p.stem in wanted]
    results = []
    for path in selected:
        print(f"running {path.name} ...", flush=True)
        text, elapsed, ok = run_one(path, args.quick, args.timeout)
        print(f"  {'done' if ok else 'FAILED'} in {elapsed:.0f} s", flush=True)
        results.append((path, text, elapsed, ok))
    command = "python benchmarks/run.py" + " ".join(
        [""] + [a for a in (argv if argv is not None else sys.argv[1:])]
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # --only re-runs some scripts: the other sections of the report stay
    kept = previous_sections(out) if args.only else {}
    out.write_text(report(results, args.quick, command, kept))
    print(f"wrote {out}")
    return 0 if all(ok for *_, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
