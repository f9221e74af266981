"""Issue 16, items 7-11: a CLI that behaves like the tools on-call engineers know, and machine
output that stays stable.

* --version, shell completion, help texts without type noise and with an Example, every option
  in the README;
* one rule for streams: results on standard output (or in -o FILE), everything else (progress,
  'wrote ...', warnings) on standard error; a progress bar only on a terminal, only for a run
  longer than ~2 s, never with --quiet;
* JSON and JSONL carry schema_version and loganalyzer_version, JSON validates against the JSON
  Schema shipped in the package, JSONL keeps `fields` nested and '/' unescaped, times are ISO-8601
  to the millisecond, DataFrames carry the epoch values in df.attrs; py.typed is shipped;
* `--dask` without Dask fails with one line that says what to install.
"""
from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from samplelib import SAMPLES, analyzed

import loganalyzer
from loganalyzer.report.jsonout import analysis_to_dict
from loganalyzer.schema import SCHEMA_VERSION, load_schema

KA = SAMPLES / "p2p-keepalive-timeout"
SRC, DST = KA / "src-libvirtd.log", KA / "dst-libvirtd.log"
COMMANDS = ("analyze", "events", "timeline", "scan")
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


# ------------------------------------------------------------------------------ 7: the CLI
def test_version():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout == f"loganalyzer {loganalyzer.__version__}\n" and not r.stderr
    # one version: the package's metadata reads it from loganalyzer.__version__
    text = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in text and 'version = {attr = "loganalyzer.__version__"}' in text


def test_shell_completion_is_offered():
    r = run_cli("--help")
    assert "--install-completion" in r.stdout and "--show-completion" in r.stdout
    r = subprocess.run([sys.executable, "-m", "loganalyzer", "--show-completion", "bash"], capture_output=True,
                       text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT), _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1"))
    assert r.returncode == 0 and "complete" in r.stdout, r.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_an_example_and_no_type_noise(command):
    r = run_cli(command, "--help")
    assert r.returncode == 0, r.stderr
    assert "Example:" in r.stdout and f"loganalyzer {command} " in r.stdout
    for noise in ("<str>", "<list", "<bool>", "<int>", "<float>", "{"):
        assert noise not in r.stdout, (noise, r.stdout)


def _long_options():
    import typer.main
    from loganalyzer.cli import app
    group = typer.main.get_command(app)
    out = {}
    for name, cmd in group.commands.items():
        out[name] = [o for p in cmd.params for o in p.opts if o.startswith("--") and o != "--help"]
    return out


def test_every_option_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [(c, o) for c, opts in _long_options().items() for o in opts if o not in readme]
    assert not missing, missing
    assert "--version" in readme and "--install-completion" in readme
    # timeline without -o writes timeline.png, and the README says so
    assert re.search(r"timeline.*without `-o`.*timeline\.png|timeline\.png.*without `-o`", readme, re.S)


# ------------------------------------------------------------------------------ 8: streams
def test_stdout_holds_only_results(tmp_path):
    # analyze: the report, whole (JSON parses from the first byte to the last)
    r = run_cli("analyze", "-f", "json", SRC, DST)
    assert r.returncode == 0
    json.loads(r.stdout)
    # analyze -o: the report is in the file; the note that it was written is on stderr
    r = run_cli("analyze", SRC, DST, "-o", tmp_path / "r.txt", "--timeline", tmp_path / "t.png")
    assert r.returncode == 0 and r.stdout == ""
    assert f"wrote {tmp_path / 'r.txt'}" in r.stderr and (tmp_path / "r.txt").read_text().startswith("tiny ")
    # events -o: nothing on stdout; what was read and 'wrote N records' on stderr
    r = run_cli("events", SRC, "-o", tmp_path / "e.parquet")
    assert r.returncode == 0 and r.stdout == "" and "wrote 6197 records" in r.stderr
    # events without -o: the summary is the result
    r = run_cli("events", SRC)
    assert "records by kind" in r.stdout and r.stderr == ""
    # timeline: the picture is the result
    r = run_cli("timeline", SRC, DST, "-o", tmp_path / "t.svg")
    assert r.returncode == 0 and r.stdout == "" and "wrote" in r.stderr and (tmp_path / "t.svg").exists()
    # scan -o: the table is in the file; totals and 'wrote N rows' on stderr
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    for f in (SRC, DST):
        (fleet / f.name).write_bytes(f.read_bytes())
    r = run_cli("scan", "--jobs", "1", fleet, "-o", tmp_path / "s.csv")
    assert r.returncode == 0 and r.stdout == "" and "wrote 2 rows" in r.stderr
    r = run_cli("scan", "--jobs", "1", fleet)
    assert r.returncode == 0 and "dconn-keepalive-timeout" in r.stdout and r.stderr == ""


def test_quiet_leaves_stderr_to_warnings_and_errors(tmp_path):
    r = run_cli("analyze", SRC, "-o", tmp_path / "r.md", "-f", "markdown", "--quiet")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    r = run_cli("events", SRC, "-o", tmp_path / "e.csv", "-q")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    # an unusable input is still reported
    r = run_cli("events", SRC, tmp_path / "missing.log", "-o", tmp_path / "e2.csv", "-q")
    assert r.returncode == 2 and "missing.log" in r.stderr


def _slow_stdin_run(extra_args, seconds: float = 3.0):
    """analyze - with the sample fed slowly on stdin (a run of `seconds`) and standard error on
    a terminal (a pty): -> (stdout, what the terminal got)."""
    data = SRC.read_bytes()
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "loganalyzer", "analyze", "-", *extra_args],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=slave, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    os.close(slave)
    n = 6
    step = len(data) // n + 1

    def feed():
        for i in range(0, len(data), step):
            p.stdin.write(data[i:i + step])
            p.stdin.flush()
            time.sleep(seconds / n)
        p.stdin.close()

    t = threading.Thread(target=feed)
    t.start()
    tty = b""
    while True:
        try:
            b = os.read(master, 65536)
        except OSError:
            break
        if not b:
            break
        tty += b
    out = p.stdout.read()
    p.wait()
    t.join()
    os.close(master)
    return out.decode(), tty.decode("utf-8", "replace")


def test_a_long_run_on_a_terminal_shows_progress_on_stderr():
    out, tty = _slow_stdin_run([])
    assert out.startswith("tiny vm->destination failed:")   # (stdin: the hostname header names it)
    assert "analyze" in tty and "━" in tty, tty[:500]       # rich's bar, on the terminal
    assert "\x1b" not in out                                 # no terminal codes in the results
    out, tty = _slow_stdin_run(["--quiet"])
    assert out.startswith("tiny ") and tty == ""


def test_no_progress_when_stderr_is_a_pipe():
    r = run_cli("analyze", "-", stdin=SRC.read_text())
    assert r.returncode == 0 and r.stderr == ""


def test_a_short_run_on_a_terminal_shows_no_progress():
    out, tty = _slow_stdin_run([], seconds=0.3)
    assert out.startswith("tiny ") and tty == ""


# ------------------------------------------------------------------------------ 9: machine output
def _every_sample_analysis():
    """Every lab sample's logs together, each client log and every excerpt alone."""
    for d in sorted(p for p in SAMPLES.iterdir() if p.is_dir() and p.name not in ("lab", "excerpts")):
        logs = sorted(str(p) for p in d.glob("*-libvirtd.log"))
        if logs:
            yield d.name, analyzed(*logs)
        for p in sorted(d.glob("virsh-*")):
            yield p.relative_to(SAMPLES).as_posix(), analyzed(str(p))
    for p in sorted(SAMPLES.glob("excerpts/*/*")):
        if p.suffix != ".md":
            yield p.relative_to(SAMPLES).as_posix(), analyzed(str(p))


def test_every_samples_json_validates_against_the_shipped_schema():
    import jsonschema
    schema = load_schema("analysis")
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    n = verdicts = 0
    for name, a in _every_sample_analysis():
        d = json.loads(json.dumps(analysis_to_dict(a)))
        errors = sorted(validator.iter_errors(d), key=lambda e: list(e.path))
        assert not errors, f"{name}: {errors[0].message} at {list(errors[0].path)}"
        assert d["schema_version"] == SCHEMA_VERSION and d["loganalyzer_version"] == loganalyzer.__version__
        n += 1
        verdicts += sum(1 for m in d["migrations"] if m["verdict"])
    assert n >= 60 and verdicts >= 25, (n, verdicts)


def test_the_schema_catches_a_broken_document():
    """Control: the schema is strict enough to fail a document that drifted."""
    import jsonschema
    validator = jsonschema.Draft202012Validator(load_schema("analysis"))
    d = json.loads(json.dumps(analysis_to_dict(analyzed(str(SRC), str(DST)))))
    for breakage in (lambda d: d.pop("schema_version"),
                     lambda d: d["migrations"][0]["verdict"].pop("headline"),
                     lambda d: d["migrations"][0].__setitem__("end", "2026-11-25T20:29:53.723999977Z"),
                     lambda d: d["migrations"][0]["verdict"].__setitem__("cause", "keepalive"),
                     lambda d: d["keepalive_deaths"][0].__setitem__("surprise", 1)):
        broken = json.loads(json.dumps(d))
        breakage(broken)
        assert list(validator.iter_errors(broken))


def test_the_schema_ships_in_the_package():
    import tomllib
    from importlib.resources import files
    assert files("loganalyzer").joinpath("schemas", "analysis.schema.json").is_file()
    assert files("loganalyzer").joinpath("py.typed").is_file()
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = conf["tool"]["setuptools"]["package-data"]["loganalyzer"]
    assert "py.typed" in data and "schemas/*.json" in data
    assert any(r.startswith("jsonschema") for r in conf["project"]["optional-dependencies"]["test"])


def test_events_jsonl_keeps_fields_nested_and_slashes_plain(tmp_path):
    out = tmp_path / "e.jsonl"
    r = run_cli("events", SRC, "-o", out)
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    assert "\\/" not in text
    rows = [json.loads(ln) for ln in text.splitlines()]
    assert len(rows) == 6197
    assert all(r["schema_version"] == SCHEMA_VERSION and r["loganalyzer_version"] == loganalyzer.__version__
               for r in rows)
    assert all(r["fields"] is None or isinstance(r["fields"], dict) for r in rows)
    assert all(r["time"] is None or ISO_MS.match(r["time"]) for r in rows)
    # src 6280: RPC_KEEPALIVE_TIMEOUT ... countToDeath=0 idle=30 at 20:29:53.724
    death = next(r for r in rows if r["line"] == 6280)
    assert death["time"] == "2026-11-25T20:29:53.724Z" and death["path"].endswith("p2p-keepalive-timeout/src-libvirtd.log")
    assert death["fields"]["countToDeath"] == "0" and death["fields"]["idle"] == "30"


def test_scan_jsonl_carries_the_versions_and_millisecond_times(tmp_path):
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    for f in (SRC, DST):
        (fleet / f.name).write_bytes(f.read_bytes())
    r = run_cli("scan", "--jobs", "1", fleet, "-o", tmp_path / "s.jsonl")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "s.jsonl").read_text()
    assert "\\/" not in text
    rows = [json.loads(ln) for ln in text.splitlines()]
    src = next(r for r in rows if r["role"] == "source")
    assert src["schema_version"] == SCHEMA_VERSION and src["loganalyzer_version"] == loganalyzer.__version__
    assert src["end"] == "2026-11-25T20:29:53.782Z" and ISO_MS.match(src["start"])
    assert "hung for 32 s" in src["headline"]


def test_dataframe_times_are_exact_milliseconds_with_the_epoch_in_attrs():
    import pandas as pd
    a = analyzed(str(SRC))
    df = a.frames.keepalive_deaths
    # src 6280 is written at 20:29:53.724 (not the float's .723999977)
    assert df["time"].iloc[0] == pd.Timestamp("2026-11-25 20:29:53.724", tz="UTC")
    assert df.attrs["epoch"]["time"] == [round(a.keepalive_deaths[0].time, 3)]
    assert df.attrs["schema_version"] == SCHEMA_VERSION
    m = a.frames.migrations
    assert all(t.microsecond % 1000 == 0 and t.nanosecond == 0 for t in m["start"])
    assert a.frames.inputs["first_time"].iloc[0] == pd.Timestamp("2026-11-25 20:29:22.772", tz="UTC")


# ------------------------------------------------------------------------------ 10: optional engines
def test_dask_without_dask_says_what_to_install(tmp_path):
    """Dask hidden from the import system: --dask fails in one line naming the command."""
    code = ("import sys\n"
            "class NoDask:\n"
            "    @staticmethod\n"
            "    def find_spec(name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('dask', 'distributed'):\n"
            "            raise ImportError(name)\n"
            "sys.meta_path.insert(0, NoDask)\n"
            "import importlib.util\n"
            "_orig = importlib.util.find_spec\n"
            "importlib.util.find_spec = lambda n, *a: None if n.split('.')[0] in ('dask', 'distributed') else _orig(n, *a)\n"
            "sys.argv = ['loganalyzer'] + sys.argv[1:]\n"
            "from loganalyzer.cli import main\n"
            "main()\n")
    r = subprocess.run([sys.executable, "-c", code, "scan", "--dask", "local", str(SRC)], capture_output=True,
                       text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == ["loganalyzer: --dask needs Dask, which is not installed: "
                                             "pip install 'loganalyzer[dask]'"]
    import tomllib
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert any(d.startswith("dask[distributed]") for d in conf["project"]["optional-dependencies"]["dask"])


def test_the_command_keeps_openblas_to_one_thread_unless_told_otherwise():
    # OpenBLAS's threads spin after NumPy's import and take CPU the scans need; a user's own
    # setting stands
    code = "import os, loganalyzer.cli; print(os.environ['OPENBLAS_NUM_THREADS'])"
    for given, seen in ((None, "1"), ("4", "4")):
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
        env["PYTHONPATH"] = str(ROOT)
        if given:
            env["OPENBLAS_NUM_THREADS"] = given
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
        assert p.stdout.strip() == seen, p.stderr[-300:]
