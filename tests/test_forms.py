"""Issue 13: every form a host writes a libvirt daemon's log in gets the file form's analysis.

The forms: rsyslog files (traditional and high precision, /var/log/messages with several
daemons), stderr read back from the journal, and native journald (`journalctl -o json`,
`-o export`, `-o short-precise`), which carries no thread ids.  Three kinds of proof:

* real captures where one libvirt run wrote every record to a file and to all the other
  outputs at once (samples/forms-concurrent-*): each form's analysis equals the file's;
* the converter (tests/forms.py), checked here against those captures line by line, re-emits
  every daemon log of the samples in every form: each equals its file form's analysis;
* the real syslog and journald captures of p2p-keepalive-timeout are analysed like the
  file-form samples (their EXPECTED.md).
"""
from __future__ import annotations

import json
import lzma
import re
import struct
from functools import lru_cache
from pathlib import Path

import pytest
from conftest import SAMPLES

import forms
from loganalyzer.analysis import analyze
from loganalyzer.report.jsonout import analysis_to_dict
from loganalyzer.reader import LogReader
from loganalyzer.records import Record

DUAL = SAMPLES / "forms-concurrent-keepalive"
ABORT = SAMPLES / "forms-concurrent-abort"
SYSLOG = SAMPLES / "syslog-p2p-keepalive-timeout"
JOURNAL = SAMPLES / "journald-p2p-keepalive-timeout"
SCENARIOS = sorted(p.parent.name for p in SAMPLES.glob("*/src-libvirtd.log"))


def _lines(path) -> list[bytes]:
    return forms._read(path).split(b"\n")


def records(path) -> list[Record]:
    return [i for i in LogReader(str(path)).items() if isinstance(i, Record)]


# ---------------------------------------------------------------- what an analysis says
def summary(a, line_maps=None):
    """What must not change with the form: every migration (role, domain, outcome, cause, the
    line it starts at) and every keepalive death (client, line, the migration it killed, the
    line its connection was created at).  line_maps: {path: {file line: converted line}} to
    compare a file-form analysis with a converted one."""
    def at(path, line):
        if line is None or line_maps is None:
            return line
        return line_maps.get(str(path), {}).get(line, ("unmapped", line))
    by_id = {m.id: m for m in a.migrations}
    migs = sorted(((m.role, m.domain, m.outcome, str(m.verdict.cause) if m.verdict else None,
                    at(m.path, m.started.line) if m.started else None) for m in a.migrations), key=repr)
    deaths = sorted(((d.client, at(d.path, d.line),
                      (by_id[d.migration].role, by_id[d.migration].domain) if d.migration in by_id else None,
                      at(d.connection.created.path, d.connection.created.line)
                      if d.connection is not None and d.connection.created is not None else None)
                     for d in a.keepalive_deaths), key=repr)
    return migs, deaths


@lru_cache(maxsize=None)
def _file_analysis(paths: tuple):
    return analyze(list(paths))


# ---------------------------------------------------------------- the converter is the real thing
_STAMP = {"syslog": rb"^\w{3} [ \d]\d \d\d:\d\d:\d\d ", "syslog-precise": rb"^\S+ ",
          "stderr-journal": rb"^\w{3} \d\d \d\d:\d\d:\d\d\.\d{6} ", "stderr-journal-iso": rb"^\S+ ",
          "journal-short": rb"^\w{3} \d\d \d\d:\d\d:\d\d\.\d{6} "}
_REAL = {"syslog": "src-syslog.log.xz", "syslog-precise": "src-syslog-precise.log.xz",
         "stderr-journal": "src-stderr-journal-short-precise.txt.xz",
         "stderr-journal-iso": "src-stderr-journal-short-iso.txt.xz",
         "journal-short": "src-journal-short-precise.txt.xz", "journal-json": "src-journal.json.xz",
         "journal-export": "src-journal.export.xz"}
# libvirt's own fields and the names journald adds (their values are the receiver's: time,
# cursor, boot, machine, command line)
_LIBVIRT_FIELDS = ("MESSAGE", "PRIORITY", "SYSLOG_FACILITY", "CODE_FILE", "CODE_LINE", "CODE_FUNC",
                   "LIBVIRT_SOURCE", "LIBVIRT_CODE", "LIBVIRT_DOMAIN", "_TRANSPORT", "_HOSTNAME", "_COMM", "_PID")


def _export_entries(data: bytes) -> list[list]:
    out, cur, i = [], [], 0
    while i < len(data):
        j = data.index(b"\n", i)
        line = data[i:j]
        if not line:
            out.append(cur)
            cur, i = [], j + 1
        elif b"=" in line:
            k, v = line.split(b"=", 1)
            cur.append((k, v))
            i = j + 1
        else:
            n = struct.unpack("<Q", data[j + 1:j + 9])[0]
            cur.append((line, data[j + 9:j + 9 + n]))
            i = j + 9 + n + 1
    return out


@pytest.mark.parametrize("form", forms.FORMS)
def test_converter_reproduces_the_real_capture(form, tmp_path):
    """One libvirt run wrote the same records to a file and to rsyslog, journald and
    stderr-into-journald: converting its file log gives what the log daemons wrote, line for
    line, but for the receiver's time stamps and journald's own metadata values."""
    out = tmp_path / form
    lines = forms.convert(DUAL / "src-libvirtd.log", form, out, ident="libvirtd-src" if "syslog" in form else None)
    real = forms._read(DUAL / _REAL[form])
    mine = out.read_bytes()
    if form in _STAMP:
        strip = re.compile(_STAMP[form])
        a = [strip.sub(b"", x, 1) for x in real.split(b"\n")]
        b = [strip.sub(b"", x, 1) for x in mine.split(b"\n")]
        assert len(a) == len(b) and a == b
    elif form == "journal-json":
        a = [json.loads(x) for x in real.splitlines()]
        b = [json.loads(x) for x in mine.splitlines()]
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert set(x) == set(y) and all(x.get(k) == y.get(k) for k in _LIBVIRT_FIELDS), (x, y)
        # the same record is a string, a byte array and null in both
        assert sum(isinstance(x["MESSAGE"], list) for x in a) == sum(isinstance(y["MESSAGE"], list) for y in b) > 0
        assert sum(x["MESSAGE"] is None for x in a) == sum(y["MESSAGE"] is None for y in b) > 0
    else:
        a, b = _export_entries(real), _export_entries(mine)
        assert len(a) == len(b)
        keys = {k.encode() for k in _LIBVIRT_FIELDS}
        for x, y in zip(a, b):
            assert [k for k, _ in x[:4]] == [k for k, _ in y[:4]]
            assert {k for k, _ in x} == {k for k, _ in y}
            assert {k: v for k, v in x if k in keys} == {k: v for k, v in y if k in keys}
    # the line map points at the converted record: its first line holds the record's message start
    recs = forms.read_file_records(DUAL / "src-libvirtd.log")
    r = next(r for r in recs if b"countToDeath=0" in r.message)
    converted = mine.split(b"\n")
    assert b"countToDeath=0" in converted[lines[r.line] - 1] or form == "journal-export"


# ---------------------------------------------------------------- reading every form
@pytest.mark.parametrize("name", sorted(_REAL.values()) + ["syslog-messages.log.xz"])
def test_every_record_of_the_real_forms_is_read(name):
    """Every record the file holds is a record of each form, with the same message (unless the
    form itself lost it: an rsyslog record cut at 8 KiB, a journal message over 4 KiB that
    `-o json` writes as null, the \\r journal text drops), and without thread ids in journald."""
    ref = records(DUAL / "src-libvirtd.log")
    got = records(DUAL / name)
    if name == "syslog-messages.log.xz":
        got = [r for r in got if r.origin == ("vm", "libvirtd-src", None)]
    assert len(got) == len(ref)
    assert all(r.tid is None for r in got) == ("journal" in name and "stderr" not in name)
    lost = 0
    for a, b in zip(ref, got):
        if a.message == b.message:
            continue
        lost += 1
        assert len(a.message) > 4000 or a.message.replace("\r", "") == b.message.rstrip("\n") \
            or a.message.rstrip("\n").replace("\r", "") == b.message, (a.line, b.line)
    assert lost < len(ref) // 5


def test_export_lines_point_at_the_entry():
    recs = records(DUAL / "src-journal.export.xz")
    lines = _lines(DUAL / "src-journal.export.xz")
    for r in recs[::500]:
        assert lines[r.line - 1].startswith(b"__CURSOR=")


def test_json_null_messages_are_counted(tmp_path):
    r = LogReader(str(DUAL / "src-journal.json.xz"))
    n = sum(1 for i in r.items() if isinstance(i, Record) and i.message == "")
    assert n > 0 and any(f"{n} journal entries have MESSAGE null" in w for w in r.facts.warnings)


# ---------------------------------------------------------------- one run, every form
_FORMS_OF = {
    "syslog": ("{side}-syslog.log.xz",), "syslog-precise": ("{side}-syslog-precise.log.xz",),
    "stderr-journal": ("{side}-stderr-journal-short-precise.txt.xz",),
    "stderr-journal-iso": ("{side}-stderr-journal-short-iso.txt.xz",),
    "journal-short": ("{side}-journal-short-precise.txt.xz",),
    "journal-json": ("{side}-journal.json.xz",), "journal-export": ("{side}-journal.export.xz",),
}


@pytest.mark.parametrize("folder", [DUAL, ABORT], ids=lambda p: p.name)
@pytest.mark.parametrize("form", sorted(_FORMS_OF))
def test_real_forms_of_one_run_give_the_file_analysis(folder, form):
    """The source of two concurrent migrations, in every form it was really written in."""
    path = folder / _FORMS_OF[form][0].format(side="src")
    ref = records(folder / "src-libvirtd.log")
    got = records(path)
    line_map = {str(folder / "src-libvirtd.log"): {a.line: b.line for a, b in zip(ref, got)}}
    a, want = analyze([str(path)]), _file_analysis((str(folder / "src-libvirtd.log"),))
    assert summary(a) == summary(want, line_map)
    # and the same findings: journal text's function-less errors outside the migrations were
    # once read as text, and the daemon's /dev/kvm error at start-up became a finding
    assert sorted(str(f.cause) for f in a.findings) == sorted(str(f.cause) for f in want.findings)


def test_two_concurrent_migrations_without_thread_ids():
    """journald: the two migrations' set-up lines interleave (EXPECTED.md), and the death of
    tiny2's dconn is tiny2's, whichever form carries it."""
    for name in ("src-libvirtd.log", "src-journal.json.xz", "src-journal.export.xz", "src-journal-short-precise.txt.xz"):
        a = analyze([str(DUAL / name)])
        by = {m.domain: m for m in a.migrations}
        assert (by["tiny"].outcome, by["tiny2"].outcome) == ("succeeded", "failed"), name
        assert str(by["tiny2"].verdict.cause) == "dconn-keepalive-timeout"
        [d] = a.keepalive_deaths
        assert d.client == "0x7f5f4c02f160" and d.migration == by["tiny2"].id
        assert by["tiny2"].dconn.client == "0x7f5f4c02f160" and by["tiny2"].dconn.conn == "0x7f5f48006960"
        assert by["tiny"].dconn.client == "0x7f5f4c02fa90" and by["tiny"].dconn.conn == "0x7f5f48006e60"
    for names in (("src-libvirtd.log", "dst-libvirtd.log"), ("src-journal.json.xz", "dst-journal.json.xz")):
        a = analyze([str(ABORT / n) for n in names])
        got = sorted((m.role, m.domain, m.outcome) for m in a.migrations)
        assert got == [("destination", "tiny", "failed"), ("destination", "tiny2", "succeeded"),
                       ("source", "tiny", "cancelled"), ("source", "tiny2", "succeeded")], names


def test_syslog_messages_is_split_by_host_and_ident():
    """/var/log/messages: three daemons interleaved (and rsyslogd's own lines): one stream
    each, named after its ident, paired across streams like separate files."""
    a = analyze([str(DUAL / "syslog-messages.log.xz")])
    assert [h.label for h in a.hosts] == ["syslog-messages.log.xz:libvirtd-src@vm",
                                          "syslog-messages.log.xz:libvirtd-dst@vm",
                                          "syslog-messages.log.xz:libvirtd-dst2@vm"]
    files = analyze([str(DUAL / f"{s}-libvirtd.log") for s in ("src", "dst", "dst2")])
    assert [v[:4] for v in summary(a)[0]] == [v[:4] for v in summary(files)[0]]
    assert len(a.pairs) == len(files.pairs) == 2


# ---------------------------------------------------------------- the real captures as samples
@pytest.mark.parametrize("paths", [
    ("syslog-p2p-keepalive-timeout", "src-syslog.log.xz", "dst-syslog.log.xz"),
    ("syslog-p2p-keepalive-timeout", "src-syslog-precise.log.xz", "dst-syslog-precise.log.xz"),
    ("syslog-p2p-keepalive-timeout", "syslog-combined.log.xz"),
    ("journald-p2p-keepalive-timeout", "src-journal.json.xz", "dst-journal.json.xz"),
    ("journald-p2p-keepalive-timeout", "src-journal.export.xz", "dst-journal.export.xz"),
    ("journald-p2p-keepalive-timeout", "src-journal-short-precise.txt.xz", "dst-journal-short-precise.txt.xz"),
], ids=lambda p: "/".join(p[1:]))
def test_real_capture_verdict(paths):
    """EXPECTED.md: the source's dconn (client ...) died by keepalive; the migration failed."""
    folder, *names = paths
    a = analyze([str(SAMPLES / folder / n) for n in names])
    src = [m for m in a.migrations if m.role == "source"]
    dst = [m for m in a.migrations if m.role == "destination"]
    assert len(src) == len(dst) == 1
    assert src[0].domain == "tiny" and src[0].outcome == "failed"
    assert str(src[0].verdict.cause) == "dconn-keepalive-timeout"
    [d] = a.keepalive_deaths
    client = "0x7faefc009a90" if folder.startswith("syslog") else "0x7f63ac02d550"
    assert d.client == client and d.migration == src[0].id
    # the dead connection's creation is the RPC_CLIENT_NEW line EXPECTED.md cites (for the
    # journal: "short-precise line | json line" above the line's text)
    text = (SAMPLES / folder / "EXPECTED.md").read_text().splitlines()
    i = next(i for i, ln in enumerate(text) if "RPC_CLIENT_NEW: client=" + client in ln)
    cite = re.compile(r"(src-[\w.-]+?)\.?(?:log|txt|json):(\d+)")
    cites = dict(cite.findall(text[i]) or cite.findall(text[i - 1]))
    want = {"src-syslog.log.xz": cites.get("src-syslog"), "src-syslog-precise.log.xz": cites.get("src-syslog"),
            "src-journal.json.xz": cites.get("src-journal"),
            "src-journal-short-precise.txt.xz": cites.get("src-journal-short-precise")}.get(names[0])
    if want is not None:
        assert d.connection.created.line == int(want)


# ---------------------------------------------------------------- every sample, every form, both routes
CONVERTED = {}


def _converted(tmp_root: Path, scenario: str, form: str) -> tuple[list[str], dict]:
    key = (scenario, form)
    if key not in CONVERTED:
        paths, maps = [], {}
        for p in sorted((SAMPLES / scenario).glob("*-libvirtd.log")):
            side = p.name.split("-")[0]
            out = tmp_root / f"{scenario}.{side}.{forms.SUFFIX[form]}"
            maps[str(p)] = forms.convert(p, form, out, ident=f"libvirtd-{side}" if "syslog" in form else None)
            paths.append(str(out))
        CONVERTED[key] = (paths, maps)
    return CONVERTED[key]


@pytest.fixture(scope="module")
def tmp_root(tmp_path_factory):
    return tmp_path_factory.mktemp("forms")


from test_prefilter import _dict  # noqa: E402  (the analysis and every correlator result as data)

# the wrapped forms with a prefilter (wrapfilter.py); stderr read back from the journal holds
# libvirt's own lines, which the fast route hands to the reference route
FAST_FORMS = ("syslog", "syslog-precise", "journal-json", "journal-short", "journal-export")


@pytest.mark.parametrize("form", forms.FORMS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_sample_in_every_form(tmp_root, scenario, form):
    """Each daemon log of the sample re-emitted in the form (both hosts together, as a user
    gives them): the same migrations, verdicts, deaths and creation lines as the file form.
    For the forms with a prefilter, the fast route's analysis and correlator results also
    equal the reference route's, which feeds EVERY record, unfiltered, to the correlator.
    (One test for both: each converts the logs and analyses them once, not twice.)"""
    files = tuple(str(p) for p in sorted((SAMPLES / scenario).glob("*-libvirtd.log")))
    paths, maps = _converted(tmp_root, scenario, form)
    fast = analyze(paths, fast=True)
    assert summary(fast) == summary(_file_analysis(files), maps)
    if form not in FAST_FORMS:
        return
    fast, every = _dict(paths, True, analysis=fast), _dict(paths, False)
    assert [i["format"] for i in fast["inputs"]] == [form if form in ("journal-json", "journal-export") else form.split("-")[0]] * len(paths)
    assert fast == every
    # one daemon per file: each is one host named after its file (a cut entry at the end of
    # the first 64 KiB of an export once showed a second daemon, without _PID)
    assert [h["host"] for h in fast["hosts"]] == [Path(p).name for p in paths]


@pytest.mark.parametrize("name", ["src-syslog.log.xz", "src-syslog-precise.log.xz", "src-journal.json.xz",
                                  "src-journal-short-precise.txt.xz", "src-stderr-journal-short-precise.txt.xz",
                                  "src-journal.export.xz",
                                  "syslog-messages.log.xz"])
def test_fast_route_on_the_real_forms(name, monkeypatch):
    """Also when blocks are cut small (64 KiB), and on /var/log/messages with three daemons
    (which the fast route hands back to the reference route)."""
    import loganalyzer.wrapfilter as wrapfilter
    monkeypatch.setattr(wrapfilter, "BLOCK", 64 << 10)
    path = [str(DUAL / name)]
    assert _dict(path, True) == _dict(path, False)


@lru_cache(maxsize=None)
def _capture_analysis(name: str) -> dict:
    """The reference route's analysis of a real capture of DUAL, unchanged (read, never altered,
    by the tests that change a copy of it)."""
    return _dict([str(DUAL / name)], False)


def _disguised(text: str, form: str) -> str:
    """The real capture with a copy of its last error entry (past the first 64 KiB, where the
    input's daemons are told) moved to another process (_PID 999) that still carries the
    daemon's "_PID=" needle: in -o export as a line of a raw value (a value with a line break
    comes as its length and bytes); in JSON as the same key given twice (json.loads, and so
    the reference route, reads the last)."""
    if form == "export":
        entries = text.split("\n\n")
        i = max(k for k, e in enumerate(entries) if "\nPRIORITY=3\n" in e)
        pid = re.search(r"\n_PID=(\d+)\n", entries[i])[1]
        value = f"seen\n_PID={pid}"
        copy = entries[i].replace(f"\n_PID={pid}\n", "\n_PID=999\n") + "\nNOTE\n" + \
            len(value).to_bytes(8, "little").decode("latin-1") + value
        entries.insert(i + 1, copy)
        return "\n\n".join(entries)
    lines = text.split("\n")
    i = max(k for k, ln in enumerate(lines) if '"PRIORITY":"3"' in ln)
    lines.insert(i + 1, lines[i][:-1] + ',"_PID":"999"}')
    return "\n".join(lines)


@pytest.mark.parametrize("name,form", [("src-journal.export.xz", "export"), ("src-journal.json.xz", "json")])
def test_an_entry_of_another_process_wearing_the_daemons_needles(tmp_path, name, form):
    """The fast route finds the daemon's entries by its _PID, _TRANSPORT and _HOSTNAME as text;
    an entry of another process can hold that text elsewhere.  Each record it builds must be
    the daemon's own (its origin and transport, read as the reference route reads them), or
    the input goes to the reference route: here an error entry of process 999, which the
    reference route reads as a daemon of its own, is not fed to the daemon's correlator."""
    path = tmp_path / name.replace(".xz", "")
    codec = "latin-1" if form == "export" else "utf-8"      # (export: raw values, byte for byte)
    path.write_bytes(_disguised(lzma.open(DUAL / name).read().decode(codec), form).encode(codec))
    fast, every = _dict([str(path)], True), _dict([str(path)], False)
    assert fast == every
    assert len(every["hosts"]) == 2         # the daemon, and process 999 apart


@pytest.mark.parametrize("form", ["json", "export"])
def test_entries_without_a_message(tmp_path, form):
    """A journald entry of the daemon without MESSAGE (`journalctl --output-fields` without it,
    or an entry made so) is a record without text, as the fast route reads it, with a warning;
    the reference route once took it for foreign text.  Here two entries of the real capture
    past its first 64 KiB lose their MESSAGE: a debug entry and an error (which the fast route
    builds)."""
    name = "src-journal.json.xz" if form == "json" else "src-journal.export.xz"
    data = lzma.open(DUAL / name).read()
    if form == "json":
        items = data.split(b"\n")
        pick = [i for i, ln in enumerate(items) if b'"MESSAGE":"' in ln]
        debug = next(i for i in pick[len(pick) // 2:] if b'"PRIORITY":"7"' in items[i])
        error = max(i for i in pick if b'"PRIORITY":"3"' in items[i])
        for i in (debug, error):
            obj = json.loads(items[i])
            del obj["MESSAGE"]
            items[i] = json.dumps(obj, separators=(",", ":")).encode()
        sep = b"\n"
    else:
        items = data.split(b"\n\n")
        pick = [i for i, e in enumerate(items) if re.search(rb"\nMESSAGE=[^\n]*\n", e)]
        debug = next(i for i in pick[len(pick) // 2:] if b"\nPRIORITY=7\n" in items[i])
        error = max(i for i in pick if b"\nPRIORITY=3\n" in items[i])
        for i in (debug, error):
            items[i] = re.sub(rb"\nMESSAGE=[^\n]*", b"", items[i], count=1)
        sep = b"\n\n"
    path = tmp_path / name.replace(".xz", "")
    path.write_bytes(sep.join(items))
    orig = _capture_analysis(name)
    fast, every = _dict([str(path)], True), _dict([str(path)], False)
    assert fast == every
    assert every["inputs"][0]["records"] == orig["inputs"][0]["records"]
    assert every["inputs"][0]["unparsed"] == orig["inputs"][0]["unparsed"]
    warned = analyze([str(path)], fast=False).inputs[0].warnings
    assert any("without a MESSAGE field" in w for w in warned)


def test_an_indented_line_in_a_syslog_file(tmp_path):
    """An indented line below a record of an rsyslog file is a further line of its message, as
    the reference route reads journalctl's (rsyslog writes none unless its escaping is off):
    not unparsed.  The fast route once counted it as foreign text; now it hands such a file to
    the reference route."""
    lines = lzma.open(DUAL / "src-syslog.log.xz").read().split(b"\n")
    i = len(lines) // 2
    lines.insert(i + 1, b"    internal error: a further line")
    path = tmp_path / "src-syslog.log"
    path.write_bytes(b"\n".join(lines))
    orig = _capture_analysis("src-syslog.log.xz")
    fast, every = _dict([str(path)], True), _dict([str(path)], False)
    assert fast == every
    assert every["inputs"][0]["unparsed"] == orig["inputs"][0]["unparsed"]
    assert every["inputs"][0]["records"] == orig["inputs"][0]["records"]


@pytest.mark.parametrize("where", ["inside", "between"])
def test_a_stray_line_in_an_export(tmp_path, where):
    """A line of -o export that is no field (no "=", and the 8 bytes after it no length of a
    raw value: here "__REALTI" or "\n__CURSO", 2^60 and more) is skipped, inside an entry
    (which stays a record) or between two (foreign text: it and its empty line).  The reference
    route once read such a line as the name of a raw value whose length runs past the input:
    every record after it was lost, and the rest of the input was held in memory as one value.
    The fast route gives the same analysis (between entries: through the reference route)."""
    data = lzma.open(DUAL / "src-journal.export.xz").read()
    cut = [m.start() + 2 for m in re.finditer(rb"\n\n__CURSOR=", data)]
    at = cut[len(cut) // 2]
    if where == "inside":
        at = data.index(b"\n", at) + 1                 # after the entry's __CURSOR= line
        stray = b"stray text\n"
    else:
        stray = b"stray text\n\n"
    path = tmp_path / "src-journal.export"
    path.write_bytes(data[:at] + stray + data[at:])
    orig = _capture_analysis("src-journal.export.xz")
    fast, every = _dict([str(path)], True), _dict([str(path)], False)
    assert fast == every
    before, after = orig["inputs"][0], every["inputs"][0]
    assert after["records"] == before["records"]
    assert after["unparsed"] == before["unparsed"] + (0 if where == "inside" else 2)
    def answers(d):       # (what does not hang on the file's name and line numbers)
        return ([(m["role"], m["domain"], m["outcome"], str(m["verdict"])[:200]) for m in d["migrations"]],
                [(k["client"], k["owner"], k["migration"].split("/")[-1]) for k in d["keepalive_deaths"]])
    assert answers(every) == answers(orig)
    assert answers(orig)[1]                 # (the capture's keepalive death, after the stray line)


@pytest.mark.parametrize("name,form", [("src-journal.json.xz", "line"), ("src-journal.export.xz", "entry"),
                                       ("src-journal-short-precise.txt.xz", "record")])
@pytest.mark.parametrize("blocksize", [997, 4096, 64 << 10])
@pytest.mark.parametrize("readinto", [True, False])
def test_blocks_are_whole_items_read_in_place(name, form, blocksize, readinto):
    """The fast route's blocks of a real capture, read blocksize bytes at a time: together they
    are the input, byte for byte; each ends where an item (line, -o export entry, journal-text
    record) ends; and each is read into its own buffer and handed on as a view of it, only
    the unfinished item a block leaves over copied to the front of the next (copying every
    chunk took most of the time of reading 800 MB of JSON).  A stream without readinto is
    read and copied in."""
    import io
    from loganalyzer import wrapfilter as w
    data = lzma.decompress((JOURNAL / name).read_bytes())
    cut = {"line": w._line_cut, "entry": w._entry_cut, "record": w._record_cut}[form]

    class Counted(io.RawIOBase):
        """data, counting the bytes copied in place (readinto) and returned (read)."""
        def __init__(self):
            self.stream, self.placed, self.returned = io.BytesIO(data), 0, 0

        def readable(self):
            return True

        def read(self, n=-1):
            got = self.stream.read(n)
            self.returned += len(got)
            return got

        def readinto(self, b):
            n = self.stream.readinto(b)
            self.placed += n
            return n

    stream = Counted()
    if not readinto:
        stream.readinto = None
    blocks = list(w._blocks(stream, blocksize, cut))
    assert b"".join(blocks) == data
    for block, after in zip(blocks, blocks[1:]):
        assert isinstance(block, memoryview)
        if form == "line":
            assert block[-1:] == b"\n"
        elif form == "entry":
            assert block[-2:] == b"\n\n" and bytes(after[:9]) == b"__CURSOR="
        else:
            assert block[-1:] == b"\n" and after[:1] not in (b" ", b"\t")
    assert (stream.placed, stream.returned) == ((len(data), 0) if readinto else (0, len(data)))
    # about one block a read (each a buffer of blocksize, the carry in front): not a small
    # block between every two, which made twice as many
    if blocksize == 64 << 10:
        assert len(blocks) < 1.25 * len(data) / blocksize + 2


WHOLE = SAMPLES / "journald-whole-journal"


@pytest.mark.parametrize("name,unparsed", [("journal-all.json.xz", 2), ("journal-all.export.xz", 56),
                                           ("journal-all-short-precise.txt.xz", 2)])
def test_a_whole_journal_takes_the_fast_route(name, unparsed, monkeypatch):
    """A journal read without a _PID= filter starts with journald's own entries (as `journalctl
    -u libvirtd` starts with systemd's lines about the unit): they are foreign text, the daemon
    is the one host, and the fast route reads it (it once took the journal's first entry for
    the daemon and handed every such input to the slow route; -o export counted a foreign
    entry as one unparsed line, not its lines)."""
    import loganalyzer.analysis as analysis
    routes = []
    read = analysis._read_streams
    monkeypatch.setattr(analysis, "_read_streams", lambda *a: routes.append(a[-1]) or read(*a))
    path = [str(WHOLE / name)]
    fast = _dict(path, True)
    assert routes == [True]                 # the fast route, no fallback to the reference route
    assert fast == _dict(path, False)
    assert [h["host"] for h in fast["hosts"]] == ["vm"]
    assert (fast["inputs"][0]["records"], fast["inputs"][0]["unparsed"]) == (2344, unparsed)


def test_other_programs_journal_entries_are_foreign():
    """Only libvirt's entries are records: libvirt's journald output sends LIBVIRT_SOURCE with
    every message (virLogOutputToJournald, libvirt 7.0 to 11.3); a libvirt daemon's stderr
    comes under its own name.  journald's entry in the real whole journal, and the same entry
    with a CODE_FUNC as systemd's own lines carry (journald once made such an entry a second
    daemon, `systemd[1]`), are not."""
    from loganalyzer import formats
    entries = [json.loads(ln) for ln in _read_text(WHOLE / "journal-all.json.xz").splitlines()]
    journald, daemon = entries[0], entries[2]
    assert journald["SYSLOG_IDENTIFIER"] == "systemd-journald" and "LIBVIRT_SOURCE" in daemon
    with_func = dict(journald, CODE_FUNC="job_emit_done_message", _TRANSPORT="journal")
    assert [formats.libvirt_entry(e) for e in (journald, with_func, daemon)] == [False, False, True]
    assert formats.native_record(with_func, 1, "", formats.Context(), "p") is None
    stderr = dict(journald, SYSLOG_IDENTIFIER="libvirtd", _TRANSPORT="stdout")
    assert formats.libvirt_entry(stderr)


@pytest.mark.parametrize("form", ["json", "export"])
def test_fast_route_on_entries_without_the_senders_time(tmp_path, form, monkeypatch):
    """journald stores _SOURCE_REALTIME_TIMESTAMP only when the sender's message came with a
    time: here every fifth entry of the real capture goes without it, and its record's time is
    __REALTIME_TIMESTAMP, read per entry by the fast route as by the reference route."""
    import loganalyzer.wrapfilter as wrapfilter
    monkeypatch.setattr(wrapfilter, "BLOCK", 64 << 10)
    p = tmp_path / f"src-journal.{form}"
    if form == "json":
        entries = [json.loads(ln) for ln in _read_text(JOURNAL / "src-journal.json.xz").splitlines()]
        for o in entries[::5]:
            del o["_SOURCE_REALTIME_TIMESTAMP"]
        p.write_text("".join(json.dumps(o, separators=(",", ":")) + "\n" for o in entries))   # (journalctl's)
    else:
        entries = _export_entries(lzma.decompress((JOURNAL / "src-journal.export.xz").read_bytes()))
        entries[::5] = [[(n, v) for n, v in e if n != b"_SOURCE_REALTIME_TIMESTAMP"] for e in entries[::5]]
        p.write_bytes(_export_text(entries))
    import loganalyzer.analysis as analysis
    routes = []
    read = analysis._read_streams
    monkeypatch.setattr(analysis, "_read_streams", lambda *a: routes.append(a[-1]) or read(*a))
    fast = _dict([str(p)], True)
    assert routes == [True]                 # read by the fast route, no fallback
    assert fast == _dict([str(p)], False)
    causes = [(m["role"], (m.get("verdict") or {}).get("cause")) for m in fast["migrations"]]
    assert ("source", "dconn-keepalive-timeout") in causes


# journalctl's other output modes of the real capture (journalctl-modes.sh made them from its
# journal) and the format each is read as
MODES = {"pretty.json": "journal-json", "sse.json": "journal-json", "seq.json": "journal-json",
         "short-full.txt": "journal", "short-unix.txt": "journal", "verbose.txt": "journal-verbose"}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_journalctl_output_mode_gives_the_json_analysis(mode):
    """-o json-pretty (an entry over many lines), json-sse (after 'data: ', an empty line
    after each), json-seq (an RS before each line: str.splitlines once broke the lines there),
    short-full and short-unix (other stamps), verbose (a field a line, QMP messages shown as
    [blob data]): each once read as text with no migration.  Now the same migration, verdict,
    death and creation line as -o json, each at its own line, and the same as the reference
    route."""
    path = JOURNAL / f"src-journal-{mode}.xz"
    ref = JOURNAL / "src-journal.json.xz"
    got, want = records(path), records(ref)
    assert len(got) == len(want) == 6213
    line_map = {str(ref): {a.line: b.line for a, b in zip(want, got)}}
    fast = _dict([str(path)], True)
    assert fast["inputs"][0]["format"] == MODES[mode]
    assert fast["inputs"][0]["unparsed"] == 0           # every line is in an entry
    assert fast == _dict([str(path)], False)
    a = analyze([str(path)])
    got_summary = summary(a)
    assert got_summary == summary(analyze([str(ref)]), line_map)
    migs, deaths = got_summary
    assert [(m[0], m[3]) for m in migs] == [("source", "dconn-keepalive-timeout")] and len(deaths) == 1
    # messages left out, counted and said: the JSON modes leave out the 2 of 4 KiB and more, as
    # the capture's -o json does; -o verbose shows the QMP messages (\r\n) as blobs
    left_out = [w for w in analysis_to_dict(a)["inputs"][0]["warnings"] if "journal entries have MESSAGE null" in w]
    assert [w.split(": ")[1].split()[0] for w in left_out] == {"journal-json": ["2"], "journal-verbose": ["958"]}.get(
        MODES[mode], [])


@pytest.mark.parametrize("mode", ["verbose.txt", "pretty.json"])
def test_output_modes_after_the_logs_begin_header(tmp_path, mode):
    """journalctl before systemd 246 (RHEL 8's 239) starts its text with the line that
    journalctl.c writes as "-- Logs begin at %s, end at %s. --": the mode is still found, the
    line is foreign text, the rest reads as without it."""
    text = "-- Logs begin at Sun 2026-12-06 20:20:32 UTC, end at Sun 2026-12-06 20:21:09 UTC. --\n" + \
        _read_text(JOURNAL / f"src-journal-{mode}.xz")
    p = tmp_path / f"src-journal-{mode}"
    p.write_text(text)
    d = _dict([str(p)], True)
    assert d["inputs"][0]["format"] == MODES[mode]
    assert (d["inputs"][0]["records"], d["inputs"][0]["unparsed"]) == (6213, 1)
    assert [(k["client"], k["line"] - 1) for k in d["keepalive_deaths"]] == \
        [(k["client"], k["line"]) for k in _dict([str(JOURNAL / f"src-journal-{mode}.xz")], True)["keepalive_deaths"]]


def test_a_short_full_zone_is_read():
    """journalctl -o short-full writes the zone's abbreviation, or its offset where it has none
    (`+03`): an offset is applied; an abbreviation other than UTC/GMT (CET may name several
    zones) is read as UTC, with a warning.  The real short-full capture, its zone rewritten."""
    text = _read_text(JOURNAL / "src-journal-short-full.txt.xz")
    first = lambda recs: next(r.time for r in recs if r.time is not None)      # noqa: E731

    def read(zone):
        from loganalyzer.sources import Block
        from loganalyzer import formats
        ctx = formats.Context()
        t = text.replace(" UTC vm ", f" {zone} vm ")
        recs = [i for i in formats.journal_items([Block(t, len(t))], "p", False, ctx) if isinstance(i, Record)]
        return first(recs), ctx.zone_assumed
    utc, none = read("UTC")
    assert none is None and utc == 1796588432.0       # Sun 2026-12-06 20:20:32 UTC
    assert read("+03") == (utc - 3 * 3600, None)
    assert read("CET") == (utc, "CET")


# the last line virsh printed in the real run (virsh-migrate.out)
VIRSH_ERROR = "error: internal error: client socket is closed"


def _export_text(entries) -> bytes:
    out = []
    for fields in entries:
        for k, v in fields:
            out.append(k + b"=" + v + b"\n" if b"\n" not in v and b"\r" not in v
                       else k + b"\n" + struct.pack("<Q", len(v)) + v + b"\n")
        out.append(b"\n")
    return b"".join(out)


@pytest.mark.parametrize("form", ["json-text", "json-bytes", "export-bytes"])
def test_error_text_on_a_further_line_of_a_message(tmp_path, form, monkeypatch):
    """Error text on a further line of a message (text glued to a record) is read by the
    reference route in every form, so the fast route must keep its record.  journalctl writes a
    message with \\r (every QMP message has \\r\\n) as bytes: an array of numbers in -o json,
    raw bytes after an 8-byte length (with NULs in it) in -o export; the fast route once missed
    both.  Here virsh's real error line follows a real message of the capture: a one-line
    message (json-text) or a QMP message (the bytes forms)."""
    import loganalyzer.wrapfilter as wrapfilter
    monkeypatch.setattr(wrapfilter, "BLOCK", 64 << 10)
    if form.startswith("json"):
        entries = [json.loads(ln) for ln in _read_text(JOURNAL / "src-journal.json.xz").splitlines()]
        want = list if form == "json-bytes" else str
        # (a record the correlator does not read: only its further line makes it one to read)
        k = next(i for i, o in enumerate(entries) if i > 1000 and isinstance(o.get("MESSAGE"), want)
                 and o.get("CODE_FUNC") == ("qemuMonitorIOWrite" if want is list else "virNetMessageFree"))
        m = entries[k]["MESSAGE"]
        below = (bytes(m) if want is list else m.encode()).count(b"\n") + 1
        entries[k]["MESSAGE"] = m + list(b"\n" + VIRSH_ERROR.encode()) if want is list else m + "\n" + VIRSH_ERROR
        p = tmp_path / "src-journal.json"
        p.write_text("".join(json.dumps(o, separators=(",", ":")) + "\n" for o in entries))
        line = k + 1
    else:
        entries = _export_entries(lzma.decompress((JOURNAL / "src-journal.export.xz").read_bytes()))
        k = next(i for i, e in enumerate(entries) if i > 1000 and dict(e).get(b"CODE_FUNC") == b"qemuMonitorIOWrite")
        below = dict(entries[k])[b"MESSAGE"].count(b"\n") + 1
        entries[k] = [(n, v + b"\n" + VIRSH_ERROR.encode() if n == b"MESSAGE" else v) for n, v in entries[k]]
        p = tmp_path / "src-journal.export"
        p.write_bytes(_export_text(entries))
        line = 1 + sum(_export_text([e]).count(b"\n") for e in entries[:k])
    fast, every = _dict([str(p)], True), _dict([str(p)], False)
    assert fast["inputs"][0]["format"] == "journal-" + form.split("-")[0]
    assert fast == every
    # the reference route reads the error line, as many lines below the record's as it
    # follows line breaks in the message
    evidence = [ev for f in every["findings"] for ev in f["evidence"]]
    assert (line + below, "error: client socket is closed") in [(ev["line"], ev["text"]) for ev in evidence]


def _read_text(path) -> str:
    return lzma.decompress(path.read_bytes()).decode()


_MONTH = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


@pytest.mark.parametrize("stamp", ["short", "short-iso"])
def test_fast_route_on_journal_text_of_every_precision(tmp_path, stamp, monkeypatch):
    """`journalctl -o short` (the default: what `journalctl -u libvirtd > file` writes, no
    fraction) and `-o short-iso`, made from the real short-precise capture by rewriting its
    stamps: the fast route equals the reference route, with small blocks, and finds the death."""
    import loganalyzer.wrapfilter as wrapfilter
    monkeypatch.setattr(wrapfilter, "BLOCK", 64 << 10)
    text = lzma.decompress((DUAL / "src-journal-short-precise.txt.xz").read_bytes()).decode()

    def iso(m):
        return f"2026-{_MONTH[m[1]]:02d}-{int(m[2]):02d}T{m[3]}+00:00 "
    head = re.compile(r"^([A-Z][a-z]{2}) ([ 0-9][0-9]) ([0-9:]{8})\.[0-9]+ ", re.M)
    text = head.sub(r"\1 \2 \3 ", text) if stamp == "short" else head.sub(iso, text)
    p = tmp_path / f"src-{stamp}.txt"
    p.write_text(text)
    fast, every = _dict([str(p)], True), _dict([str(p)], False)
    assert fast == every
    assert fast["inputs"][0]["format"] == "journal"
    causes = [(m["role"], (m.get("verdict") or {}).get("cause")) for m in fast["migrations"]]
    assert ("source", "dconn-keepalive-timeout") in causes


def test_scan_reads_each_daemon_of_a_syslog_file(tmp_path):
    """`scan` of a folder holding an rsyslog file of three daemons: one stream per daemon, the
    same migrations and verdicts as the three file logs."""
    import shutil

    from loganalyzer.fleet import scan
    (tmp_path / "libvirt").mkdir()          # (scan finds a folder's logs by place and name)
    shutil.copy(DUAL / "syslog-messages.log.xz", tmp_path / "libvirt" / "messages.log.xz")
    r = scan([str(tmp_path)], jobs=1)
    got = sorted((row.role, row.domain, row.outcome, row.cause) for row in r.rows.itertuples()
                 if row.kind == "migration")
    files = analyze([str(DUAL / f"{s}-libvirtd.log") for s in ("src", "dst", "dst2")])
    want = sorted((m.role, m.domain, m.outcome, str(m.verdict.cause) if m.verdict else None) for m in files.migrations)
    assert [g[:3] for g in got] == [w[:3] for w in want]
    assert [g[3] if isinstance(g[3], str) else None for g in got] == [w[3] for w in want]
    assert len(r.analysis.hosts) == 3 and not r.errors


# names of one function across libvirt versions, and functions that write the same line
_SAME = {"virConnectOpenReadOnly": "virConnectOpen", "virDomainMigrate": "virDomainMigrate2",
         "doPeer2PeerMigrate": "qemuMigrationSrcPerformPeer2Peer", "doPeer2PeerMigrate3": "qemuMigrationSrcPerformPeer2Peer3",
         "qemuMigrationPerform": "qemuMigrationSrcPerform", "qemuMigrationConnectionClosed": "qemuMigrationSrcConnectionClosed",
         "qemuDomainObjBeginJobInternal": "virDomainObjBeginJobInternal", "qemuDomainObjTaint": "qemuDomainObjTaintMsg"}


# lines journal text cannot attribute: qemuProcessAutoDestroyAdd writes the first the same,
# qemuProcessKill the second
_AMBIGUOUS = re.compile(r"vm=.*, conn=0x[0-9a-f]+$|VM '.*' not active$")


def test_journal_text_recognises_functions_without_mistakes():
    """Journal text has no function: signatures.py names it from the message.  On every record
    of every daemon log of the samples, a recognised function is the record's own (never another
    function's), and every record of a function the correlator reads by name is recognised."""
    from loganalyzer.correlate.build import READING
    from loganalyzer.signatures import DISPATCH_UNNAMED, FORMATS, Recogniser
    known = {f for f, _, _ in FORMATS}
    wrong, missed = [], []
    for path in sorted(SAMPLES.glob("*/*-libvirtd.log")):
        r = Recogniser()
        for rec in LogReader(str(path)):
            got = r.recognise(rec.message)
            own = _SAME.get(rec.func, rec.func)
            if got is not None:
                func = got[0]
                ok = func == own or (func == DISPATCH_UNNAMED and (rec.func or "").endswith("Helper"))
                if not ok:
                    wrong.append(f"{path.parent.name}/{path.name}:{rec.line}: {rec.func} read as {func}")
            elif own in known and READING.reads(rec) and rec.kind in ("kv", "text") \
                    and not _AMBIGUOUS.match(rec.message):
                missed.append(f"{path.parent.name}/{path.name}:{rec.line}: {rec.func}: {rec.message[:80]}")
    assert not wrong, "\n".join(wrong[:20])
    assert not missed, "\n".join(missed[:20])


def test_the_fast_routes_never_import_pandas():
    # pyarrow imports pandas (~0.5 s, with the GIL held in a scan thread) to look for its types
    # in pa.array() of a list or a NumPy array: the routes make their Arrow arrays from buffers.
    # Every form, by the field walk and by the Arrow searches; a whole journal (other programs'
    # entries, whose items are not all the daemon's), the high-precision rsyslog stamp.
    import os
    import subprocess
    import sys
    root = Path(__file__).resolve().parent.parent
    abort = SAMPLES / "forms-concurrent-abort"
    paths = [abort / n for n in ("src-journal.json.xz", "src-journal.export.xz", "src-journal-short-precise.txt.xz",
                                 "src-syslog.log.xz", "src-syslog-precise.log.xz")]
    paths += sorted((SAMPLES / "journald-whole-journal").glob("*.json.xz"))
    code = ("import sys\nimport loganalyzer.wrapfilter as w\nfrom loganalyzer import fieldscan\n"
            "from loganalyzer.analysis import analyze\nw.BLOCK = 1 << 16\n"
            "for walk in (True, False):\n"
            "    fieldscan._scan = fieldscan._scan if walk else None\n"
            "    for p in sys.argv[1:]:\n"
            "        analyze([p], fast=True)\n"
            "print('pandas imported' if 'pandas' in sys.modules else 'no pandas')\n")
    p = subprocess.run([sys.executable, "-c", code, *map(str, paths)], capture_output=True, text=True, cwd=root,
                       env=dict(os.environ, PYTHONPATH=str(root)), timeout=300)
    assert p.returncode == 0 and p.stdout.strip().splitlines()[-1] == "no pandas", p.stderr[-800:]
