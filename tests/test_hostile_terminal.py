"""Issue 15, item 6: log text cannot take over a terminal.

The keepalive sample with terminal control sequences and bidi overrides put into its log text
(the domain name, the host name, the error message of the death): an OSC title change
(ESC ]0;... BEL), clear screen (ESC [2J), an OSC 8 hyperlink and U+202E.  Every report that
shows log text (text on a terminal and in a file, markdown, the scan table, the events facts,
the timeline's labels and its one-line summary) writes each such character as its escape.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import unicodedata
import xml.dom.minidom

import pytest
from conftest import ROOT, SAMPLES, run_cli

from loganalyzer.visible import visible

KA_SRC = SAMPLES / "p2p-keepalive-timeout" / "src-libvirtd.log"
OSC_TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
OSC8 = "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\"
RLO = "\u202e"
DOMAIN = f"ti{CLEAR}ny{RLO}"
ERROR_TAIL = OSC_TITLE + CLEAR + OSC8 + RLO + "gpj.exe"
HOST = f"vm{OSC_TITLE}"


def hostile_log(tmp_path):
    lines = KA_SRC.read_text().split("\n")
    assert lines[1].endswith("info : hostname: vm")
    lines[1] = lines[1][:-2] + HOST
    assert lines[6281].endswith("internal error: connection closed due to keepalive timeout")
    lines[6281] += ERROR_TAIL
    p = tmp_path / "src-libvirtd.log"
    p.write_text("\n".join(lines).replace("tiny", DOMAIN))
    return p


# SGR (colour, bold) is the only sequence the reports themselves write, on a terminal
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def raw_controls(text: str, terminal: bool = False) -> list:
    """Control and format characters in text, other than the report's own line breaks."""
    if terminal:
        text = _SGR.sub("", text).replace("\r\n", "\n")
    return [c for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]


SHOWN = ["\\x1b]0;pwned\\x07", "\\x1b[2J", "\\x1b]8;;http://evil.example\\x1b\\click", "\\u202egpj.exe"]


def test_visible():
    assert visible(OSC_TITLE + CLEAR) == "\\x1b]0;pwned\\x07\\x1b[2J"
    assert visible("a\u202eb\u2066c\u2069\u200f\u061c") == "a\\u202eb\\u2066c\\u2069\\u200f\\u061c"
    assert visible("tab\there\r\nnext\x7f\x9b\u2028") == "tab\\x09here\\x0d\\x0anext\\x7f\\x9b\\u2028"
    assert visible("tag\U000e0041 zwsp\u200b") == "tag\\U000e0041 zwsp\\u200b"
    for text in ("virKeepAliveTimerInternal: idle=30", "domaine é 中文", "nbsp\u00a0kept", "", "[bold]"):
        assert visible(text) == text


def test_text_report_on_a_terminal(tmp_path):
    p = hostile_log(tmp_path)
    master, slave = os.openpty()
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200", TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "loganalyzer", "analyze", str(p)], stdout=slave,
                            stderr=slave, stdin=subprocess.DEVNULL, cwd=ROOT, env=env)
    os.close(slave)
    chunks = []

    def read():
        while True:
            try:
                b = os.read(master, 65536)
            except OSError:        # EIO: the other side is closed
                return
            if not b:
                return
            chunks.append(b)
    t = threading.Thread(target=read)
    t.start()
    assert proc.wait(timeout=120) == 0
    t.join(timeout=30)
    os.close(master)
    out = b"".join(chunks).decode("utf-8")
    assert _SGR.search(out), "not seen as a terminal: no colours"
    assert raw_controls(out, terminal=True) == []
    flat = "".join(_SGR.sub("", out).split())
    for s in SHOWN:
        assert "".join(s.split()) in flat, s


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_reports_in_files_and_on_stdout(tmp_path, fmt):
    p = hostile_log(tmp_path)
    out, clean_out = tmp_path / f"report.{fmt}", tmp_path / f"clean.{fmt}"
    r = run_cli("analyze", p, "-f", fmt, "-o", out, "-q")     # -q: no 'wrote ...' note (issue 16)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""           # (nor a font warning that prints the raw character)
    assert run_cli("analyze", KA_SRC, "-f", fmt, "-o", clean_out).returncode == 0
    text = out.read_text(encoding="utf-8")
    for t in (text, run_cli("analyze", p, "-f", fmt).stdout):
        assert raw_controls(t) == []
        flat = " ".join(t.split()).replace("\\\\", "\\").replace("\\_", "_").replace("\\[", "[")
        for s in SHOWN:
            assert s in flat, s
    if fmt == "markdown":
        # the report's own structure: the lines of the clean sample's report (headings, blocks, rows)
        clean = clean_out.read_text(encoding="utf-8")
        assert [ln[:1] for ln in text.splitlines()] == [ln[:1] for ln in clean.splitlines()]


def test_scan_table_and_events_facts(tmp_path):
    p = hostile_log(tmp_path)
    r = run_cli("scan", p, "--jobs", "1")
    assert r.returncode == 0, r.stderr
    assert raw_controls(r.stdout + r.stderr) == []
    assert "\\x1b[2Jny\\u202e" in "".join(r.stdout.split())
    r = run_cli("events", p)
    assert r.returncode == 0, r.stderr
    assert raw_controls(r.stdout + r.stderr) == []
    assert "host vm\\x1b]0;pwned\\x07" in r.stdout


def test_timeline_labels_and_summary(tmp_path):
    p = hostile_log(tmp_path)
    svg = tmp_path / "t.svg"
    r = run_cli("timeline", p, "-o", svg)
    assert r.returncode == 0, r.stderr
    assert raw_controls(r.stdout + r.stderr) == [] and "Glyph" not in r.stderr
    doc = svg.read_text(encoding="utf-8")
    xml.dom.minidom.parseString(doc)           # raw C0 characters are not XML
    assert raw_controls(doc) == []
    assert "ti\\x1b[2Jny\\u202e" in doc
