"""Shared pytest setup.

The repository root goes first on sys.path: a plain `pytest` run (not `python -m pytest`)
would otherwise import a stale, non-editable `loganalyzer` installed in site-packages
instead of the code under test.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
for _name in [m for m in sys.modules if m == "loganalyzer" or m.startswith("loganalyzer.")]:
    if not str(getattr(sys.modules[_name], "__file__", "") or "").startswith(str(ROOT)):
        del sys.modules[_name]


# ---- shared by the parser tests (test_grammar/fastpath/reader/formats/inputs/frame/cli_events)
import os as _os
import subprocess as _subprocess

SAMPLES = ROOT / "samples"


def sample_logs() -> list[Path]:
    """Every daemon/client log of every lab sample (globbed: new samples join by themselves)."""
    return sorted(SAMPLES.glob("*/*.log"))


def excerpt_files() -> list[Path]:
    """Every excerpt file (not its SOURCE.md / EXPECTED.md)."""
    return sorted(p for p in SAMPLES.glob("excerpts/*/*") if p.suffix != ".md")


def run_cli(*args, stdin=None, cwd=None, timeout=120):
    """`python -m loganalyzer ARGS` in a subprocess -> CompletedProcess (text)."""
    env = dict(_os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")
    return _subprocess.run([sys.executable, "-m", "loganalyzer", *map(str, args)], input=stdin,
                           capture_output=True, text=isinstance(stdin, str) or stdin is None,
                           cwd=cwd or ROOT, env=env, timeout=timeout)
