"""Run a snippet in a fresh interpreter (process-wide settings start clean)."""

import os
import subprocess
import sys


def last_line(script: str, env_extra: dict, drop_prefixes: tuple[str, ...]) -> str:
    """The last line ``script`` prints, run with the environment minus the
    variables starting with ``drop_prefixes``, plus ``env_extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop_prefixes)}
    env.update(env_extra)
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]
