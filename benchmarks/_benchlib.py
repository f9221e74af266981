"""Shared helpers for the benchmark scripts (timing, peak RSS, loganalyzer/lnav discovery)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
GENERATOR = BENCH / "generate_log.py"
LNAV_FORMAT = BENCH / "lnav" / "libvirtd_log.json"
LNAV_FORMAT_NAME = "libvirtd_log"


# ------------------------------------------------------------------------------------------
# running and measuring one child process
# ------------------------------------------------------------------------------------------

class RunResult:
    def __init__(self, cmd, seconds, maxrss_kb, rc, stdout, stderr, timed_out=False, cpu_seconds=None):
        self.cmd = cmd
        self.seconds = seconds
        self.cpu_seconds = cpu_seconds      # user + sys of the command and its children
        self.maxrss_kb = maxrss_kb
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out


TIME_BIN = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def child_env() -> dict:
    """The environment of the timed commands: Python may cache byte code (outside the repo,
    under the system's temp dir), as an installed package has it; without that every run of
    a checkout under PYTHONDONTWRITEBYTECODE would compile the package again (~0.4 s)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "loganalyzer-bench-pycache"))
    return env


def run_once(cmd: list[str], timeout: float = 3600, cwd: str | None = str(REPO)) -> RunResult:
    """Run cmd, return wall time and the child's peak RSS (KiB).

    Linux carries a process's maxrss across exec(), so a child forked from this (30+ MB) Python
    process would report at least the parent's RSS.  The command is therefore started through
    GNU time (``/usr/bin/time -f %M``), which forks it from a tiny process and reports its real
    ru_maxrss.  Without /usr/bin/time we fall back to os.wait4() on the child (inflated for
    small commands).  ru_maxrss includes reaped grandchildren, so it is the largest *single*
    process of the tree, not the sum of concurrently running workers.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(prefix="bench-rss-", suffix=".txt") as rssf:
        full = [TIME_BIN, "-f", "%M", "-o", rssf.name, "--"] + list(cmd) if TIME_BIN else list(cmd)
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd,
                             env=child_env(), start_new_session=True)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        t1 = time.perf_counter()
        p.returncode = os.waitstatus_to_exitcode(status)
        maxrss = ru.ru_maxrss
        if TIME_BIN:
            try:
                txt = Path(rssf.name).read_text().strip().splitlines()
                maxrss = int(txt[-1])
            except (OSError, ValueError, IndexError):
                pass
        out.seek(0)
        err.seek(0)
        return RunResult(cmd, t1 - t0, maxrss, p.returncode,
                         out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                         timed_out.is_set(), ru.ru_utime + ru.ru_stime)


def run_repeated(cmd: list[str], repeat: int = 3, timeout: float = 3600,
                 ok_rcs: tuple[int, ...] = (0,)) -> dict:
    """Run cmd `repeat` times; median wall time, max peak RSS.  Stops at the first failure."""
    return run_interleaved([cmd], repeat, timeout, ok_rcs)[0]


def run_interleaved(cmds: list[list[str]], repeat: int = 3, timeout: float = 3600,
                    ok_rcs: tuple[int, ...] = (0,)) -> list[dict]:
    """Run the commands in turn, `repeat` rounds (A B A B ...): a ratio of their medians then
    holds on a shared machine whose speed drifts between minutes.  Stops at the first failure."""
    runs: list[list] = [[] for _ in cmds]
    for _ in range(max(1, repeat)):
        for cmd, done in zip(cmds, runs):
            r = run_once(cmd, timeout)
            done.append(r)
            if r.rc not in ok_rcs:
                return [_summary(c, d, ok_rcs) for c, d in zip(cmds, runs) if d]
    return [_summary(c, d, ok_rcs) for c, d in zip(cmds, runs)]


def _summary(cmd: list[str], runs: list, ok_rcs: tuple[int, ...]) -> dict:
    last = runs[-1]
    ok = all(r.rc in ok_rcs for r in runs)
    return {
        "cmd": cmd,
        "ok": ok,
        "rc": last.rc,
        "timed_out": any(r.timed_out for r in runs),
        "times": [round(r.seconds, 4) for r in runs],
        "seconds": statistics.median(r.seconds for r in runs),
        # CPU time of the run of median wall time: on a shared machine wall time alone misleads
        "cpu_seconds": sorted(runs, key=lambda r: r.seconds)[len(runs) // 2].cpu_seconds,
        "peak_rss_mb": max(r.maxrss_kb for r in runs) / 1024.0,
        "stdout": last.stdout,
        "stderr": last.stderr,
    }


def warm_cache(paths: list[Path]):
    """Read the inputs once so every tool is timed on a warm page cache."""
    for p in paths:
        files = sorted(p.glob("*")) if p.is_dir() else [p]
        for f in files:
            if f.is_file():
                with open(f, "rb") as fh:
                    while fh.read(1 << 24):
                        pass


# ------------------------------------------------------------------------------------------
# generated inputs
# ------------------------------------------------------------------------------------------

def manifest_path(log: Path) -> Path:
    return Path(str(log).rstrip("/") + ".manifest.json")


def ensure_log(path: Path, lines: int, seed: str, regen: bool = False, profile: str = "standard") -> dict:
    """Generate path with generate_log.py unless a matching file + manifest already exist."""
    mp = manifest_path(path)
    if not regen and path.exists() and mp.exists():
        try:
            m = json.loads(mp.read_text())
            if (m.get("lines") == lines and str(m.get("seed")) == str(seed)
                    and m.get("profile", "standard") == profile
                    and path.stat().st_size == m.get("bytes")):
                print(f"# reusing {path} ({m['lines']} lines, {m['bytes'] / 1e6:.1f} MB)", flush=True)
                return m
        except (ValueError, OSError):
            pass
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(GENERATOR), "--lines", str(lines), "--seed", str(seed),
                    "--profile", profile, "-o", str(path)], check=True)
    m = json.loads(mp.read_text())
    m["_generation_seconds"] = time.perf_counter() - t0
    return m


def ensure_form(log: Path, manifest: dict, form: str, regen: bool = False) -> tuple[Path, dict]:
    """The generated log re-emitted in another form (tests/forms.py: rsyslog, journald ...), and
    its manifest with the planted keepalive deaths' lines moved to the converted file's lines.
    Reused when it exists for the same source file."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import forms
    out = Path(f"{log}.{forms.SUFFIX[form]}")
    mp = manifest_path(out)
    if not regen and out.exists() and mp.exists():
        try:
            m = json.loads(mp.read_text())
            if m.get("source_bytes") == manifest["bytes"] and out.stat().st_size == m.get("bytes"):
                print(f"# reusing {out} ({m['lines']} lines, {m['bytes'] / 1e6:.1f} MB)", flush=True)
                return out, m
        except (ValueError, OSError):
            pass
    t0 = time.perf_counter()
    lines = forms.convert(log, form, out)
    m = dict(manifest)
    m["keepalive_deaths"] = [dict(d, line=lines[int(d["line"])]) for d in manifest["keepalive_deaths"]]
    with open(out, "rb") as fh:
        m["lines"] = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))
    m["bytes"] = out.stat().st_size
    m["source_bytes"] = manifest["bytes"]
    m["form"] = form
    mp.write_text(json.dumps(m))
    m["_generation_seconds"] = time.perf_counter() - t0
    return out, m


def ensure_dir(path: Path, files: int, lines: int, seed: str, regen: bool = False) -> dict:
    mp = manifest_path(path)
    if not regen and path.is_dir() and mp.exists():
        try:
            m = json.loads(mp.read_text())
            if (len(m.get("files", [])) == files and str(m.get("seed")) == str(seed)
                    and all(f["lines"] == lines and Path(f["log"]).exists()
                            and Path(f["log"]).stat().st_size == f["bytes"] for f in m["files"])):
                print(f"# reusing {path}/ ({files} files, {m['bytes'] / 1e6:.1f} MB)", flush=True)
                return m
        except (ValueError, OSError, KeyError):
            pass
    if path.is_dir():
        for f in path.glob("libvirtd-*.log"):
            f.unlink()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(GENERATOR), "--files", str(files), "--lines", str(lines),
                    "--seed", str(seed), "-o", str(path)], check=True)
    m = json.loads(mp.read_text())
    m["_generation_seconds"] = time.perf_counter() - t0
    return m


# ------------------------------------------------------------------------------------------
# tools
# ------------------------------------------------------------------------------------------

def loganalyzer_base() -> list[str] | None:
    """How to invoke the loganalyzer CLI of this checkout: `python -m loganalyzer`, run in the
    repository (an installed `loganalyzer` on PATH may be another version)."""
    if (REPO / "loganalyzer" / "__main__.py").exists():
        return [sys.executable, "-m", "loganalyzer"]
    return None


_avail_cache: dict[str, bool] = {}


def loganalyzer_has(sub: str) -> bool:
    """True when `loganalyzer <sub> --help` works."""
    if sub in _avail_cache:
        return _avail_cache[sub]
    base = loganalyzer_base()
    ok = False
    if base:
        try:
            r = subprocess.run(base + [sub, "--help"], cwd=REPO, env=child_env(), capture_output=True,
                               timeout=60)
            ok = r.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
    _avail_cache[sub] = ok
    return ok


def lnav_ensure_format() -> str | None:
    """Install the libvirtd lnav format if needed.  Returns an error string or None."""
    if not shutil.which("lnav"):
        return "lnav is not installed (apt-get install -y lnav)"
    installed = [Path.home() / ".config/lnav/formats/installed/libvirtd_log.json",
                 Path.home() / ".lnav/formats/installed/libvirtd_log.json"]
    src = LNAV_FORMAT.read_bytes()
    if not any(p.exists() and p.read_bytes() == src for p in installed):
        r = subprocess.run(["lnav", "-i", str(LNAV_FORMAT)], capture_output=True, text=True)
        if r.returncode != 0:
            return f"lnav -i failed: {r.stderr.strip()}"
    return None


def lnav_count_cmd(target: Path, where: str) -> list[str]:
    return ["lnav", "-n", "-c", f";SELECT count(*) FROM {LNAV_FORMAT_NAME} WHERE {where}", str(target)]


def parse_last_int(text: str) -> int | None:
    for tok in reversed(text.split()):
        if tok.isdigit():
            return int(tok)
    return None


def grep_cmd(target: Path, pattern: str = "countToDeath=0") -> list[str]:
    if target.is_dir():
        files = sorted(str(f) for f in target.glob("*.log"))
        return ["grep", "-c", "-h", pattern] + files
    return ["grep", "-c", pattern, str(target)]


def grep_total(stdout: str) -> int:
    return sum(int(x) for x in stdout.split() if x.isdigit())


def one_core() -> list[str]:
    """A prefix that pins a command to one CPU (`taskset -c 0`), or [] without taskset."""
    return ["taskset", "-c", "0"] if shutil.which("taskset") else []


def import_seconds(cmd: list[str], repeat: int = 3) -> float | None:
    """Median over `repeat` runs of the time `cmd` (a `python -m ...` command) spends importing:
    the sum of `python -X importtime`'s cumulative times of the top-level imports."""
    if not cmd or cmd[0] != sys.executable:
        return None
    totals = []
    for _ in range(max(1, repeat)):
        r = subprocess.run([cmd[0], "-X", "importtime"] + cmd[1:], cwd=REPO, env=child_env(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        us = 0
        for line in r.stderr.splitlines():
            parts = line.split("|")
            # "import time: self | cumulative | name": a top-level import has one space of indent
            if (line.startswith("import time:") and len(parts) == 3 and parts[1].strip().isdigit()
                    and parts[2].startswith(" ") and not parts[2].startswith("  ")):
                us += int(parts[1])
        totals.append(us / 1e6)
    return statistics.median(totals)
