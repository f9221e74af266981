"""The other places libvirt lines live: journal text, syslog, journalctl -o json, KubeVirt JSON."""
from __future__ import annotations

import json
import os
import time

import pytest
from conftest import SAMPLES

from loganalyzer import LogReader
from loganalyzer.formats import detect
from loganalyzer.records import Foreign

EX = SAMPLES / "excerpts"
KA_LINE = ("2026-11-25 20:29:53.724+0000: 13681: info : virKeepAliveTimerInternal:126 : "
           "RPC_KEEPALIVE_TIMEOUT: ka=0x5602cad67830 client=0x7fd78402e550 countToDeath=0 idle=30")


def read(path, fmt=None):
    r = LogReader(str(path), fmt)
    items = list(r.items())
    assert "".join(i.raw for i in items) == path.read_text(encoding="utf-8")   # lossless
    return r, [i for i in items if not isinstance(i, Foreign)]


@pytest.mark.parametrize("rel,fmt", [
    ("flathub-boxes-92-journal-keepalive/journal-excerpt.txt", "journal"),
    ("seapath-25-pacemaker-ssh-hostkey/journal-excerpt.txt", "journal"),
    ("prometheus-exporter-10-syslog-wrapped-fileformat/report-excerpt.txt", "syslog"),
    ("kubevirt-18147-dest-abort-libvirt-subcomponent/virt-launcher-excerpt.jsonl", "kubevirt"),
    ("kubevirt-3920-readonly-disk/virt-launcher-excerpt.jsonl", "kubevirt"),
    ("virt-manager-887-keepalive-localized/libvirtd-excerpt.log", "pasted"),
    ("webvirtmgr-337-old-wording/report-excerpt.txt", "text"),
])
def test_detection_of_excerpts(rel, fmt):
    assert detect((EX / rel).read_text(encoding="utf-8")) == fmt


def test_journal_without_date_and_host():
    # virtlogd[7095]: Client hit max requests limit 1. This may result in keep-alive timeouts. ...
    # virtqemud[7034]: internal error: connection closed due to keepalive timeout
    r, recs = read(EX / "flathub-boxes-92-journal-keepalive/journal-excerpt.txt")
    assert r.facts.format == "journal" and len(recs) == 2
    a, b = recs
    assert a.line == 1 and a.tid is None and a.func is None and a.time is None
    assert a.level == "unknown" and a.kind == "text" and a.message.startswith("Client hit max requests limit 1.")
    assert b.level == "error" and b.kind == "error"
    assert b.fields == {"prefix": "internal error", "text": "connection closed due to keepalive timeout"}
    assert b.raw == "virtqemud[7034]: internal error: connection closed due to keepalive timeout\n"


def test_journal_lines_of_other_programs_are_foreign():
    # Nov 29 12:34:47 hypervisor3 pacemaker-execd[1005]:  notice: SELOG_migrate_to_0:5177:stderr [ ... ]
    r, recs = read(EX / "seapath-25-pacemaker-ssh-hostkey/journal-excerpt.txt")
    assert recs == [] and r.facts.unparsed == 7


def test_syslog_wrapping_a_file_record():
    # Nov 24 17:54:42 matrix_03 libvirtd: 2018-11-24 09:54:42.785+0000: 1809955: error : virNetSocketReadWire:1808 : End of file while reading data: Input/output error
    r, [rec] = read(EX / "prometheus-exporter-10-syslog-wrapped-fileformat/report-excerpt.txt")
    assert r.facts.format == "syslog"
    assert rec.time == 1543053282.785         # the inner UTC stamp wins over the wrapper's local time
    assert (rec.tid, rec.level, rec.func, rec.src_line) == (1809955, "error", "virNetSocketReadWire", 1808)
    assert rec.fields == {"prefix": None, "text": "End of file while reading data: Input/output error"}
    assert r.facts.year_assumed is None


def test_syslog_with_libvirt_prefix_and_rsyslog_escapes(tmp_path):
    """Made here from the real RPC_KEEPALIVE_TIMEOUT record (p2p-keepalive-timeout/src-libvirtd.log:6280)
    and the real QMP record (lines 829-830) as libvirt's syslog output writes them
    (no time stamp; rsyslog escapes \\r\\n as #015#012)."""
    body = KA_LINE.split(": ", 1)[1]              # "13681: info : virKeepAliveTimerInternal:126 : RPC_..."
    qmp = ('13690: info : qemuMonitorSend:861 : QEMU_MONITOR_SEND_MSG: mon=0x7fd77c005740 '
           'msg={"execute":"qmp_capabilities","id":"libvirt-1"}#015#012 fd=-1')
    text = f"Nov 25 20:29:53 src-host libvirtd[13681]: {body}\nNov 25 20:29:23 src-host libvirtd[13681]: {qmp}\n"
    p = tmp_path / "messages"
    p.write_text(text)
    os.utime(p, (time.mktime((2026, 12, 1, 0, 0, 0, 0, 0, 0)),) * 2)
    r, (ka, q) = read(p)
    assert r.facts.format == "syslog"
    assert (ka.tid, ka.level, ka.func, ka.src_line, ka.kind) == (13681, "info", "virKeepAliveTimerInternal", 126,
                                                                 "RPC_KEEPALIVE_TIMEOUT")
    assert ka.fields["countToDeath"] == "0"
    assert ka.time == 1795638593.0 and r.facts.year_assumed == 2026
    assert any("assumed 2026" in w for w in r.facts.warnings)
    assert q.message.endswith('"id":"libvirt-1"}\r\n fd=-1') and q.fields["fd"] == "-1"
    assert "#015#012" in q.raw                  # raw stays untouched


def test_journal_text_multiline_and_year_rollover(tmp_path):
    text = ("Dec 31 23:59:59 h virtqemud[7]: internal error: qemu unexpectedly closed the monitor:\n"
            "                                2026-01-01T00:00:00.1Z qemu-kvm: load of migration failed\n"
            "-- Boot 1234 --\n")
    p = tmp_path / "journal.txt"
    p.write_text(text)
    os.utime(p, (time.mktime((2027, 1, 2, 0, 0, 0, 0, 0, 0)),) * 2)
    r, [rec] = read(p, "journal")
    assert rec.message.endswith("monitor:\n2026-01-01T00:00:00.1Z qemu-kvm: load of migration failed")
    assert rec.fields["prefix"] == "internal error"
    # Dec 31 would lie after the file's mtime (Jan 2027): the year before
    assert time.gmtime(rec.time)[:3] == (2026, 12, 31)
    assert r.facts.unparsed == 1


def test_journal_json(tmp_path):
    """journalctl -o json lines made here from real sample messages (the field names journald writes):
    MESSAGE as a string and as a byte array (journald does that for messages with \\r)."""
    qmp = 'QEMU_MONITOR_SEND_MSG: mon=0x7fd77c005740 msg={"execute":"qmp_capabilities","id":"libvirt-1"}\r\n fd=-1'
    lines = [
        {"__REALTIME_TIMESTAMP": "1795638593724000", "PRIORITY": "6", "_PID": "13681", "_COMM": "libvirtd",
         "CODE_FUNC": "virKeepAliveTimerInternal", "CODE_LINE": "126", "LIBVIRT_SOURCE": "rpc.keepalive",
         "MESSAGE": KA_LINE.split(" : ", 2)[2]},
        {"__REALTIME_TIMESTAMP": "1795638563070000", "PRIORITY": "6", "CODE_FUNC": "qemuMonitorSend",
         "CODE_LINE": "861", "MESSAGE": list(qmp.encode())},
        {"__REALTIME_TIMESTAMP": "1795638594000000", "PRIORITY": "3", "CODE_FUNC": "virKeepAliveTimerInternal",
         "CODE_LINE": "135", "MESSAGE": "internal error: connection closed due to keepalive timeout"},
        {"__REALTIME_TIMESTAMP": "1795638594000001", "PRIORITY": "6", "_COMM": "sshd", "SYSLOG_IDENTIFIER": "sshd"},
    ]
    p = tmp_path / "journal.json"
    p.write_text("".join(json.dumps(o) + "\n" for o in lines))
    r, recs = read(p)
    assert r.facts.format == "journal-json" and len(recs) == 3 and r.facts.unparsed == 1
    ka, q, err = recs
    assert (ka.time, ka.tid, ka.level, ka.func, ka.src_line, ka.kind) == (
        1795638593.724, None, "info", "virKeepAliveTimerInternal", 126, "RPC_KEEPALIVE_TIMEOUT")
    assert ka.fields["client"] == "0x7fd78402e550"
    assert q.kind == "QEMU_MONITOR_SEND_MSG" and q.fields["fd"] == "-1"
    assert err.level == "error" and err.fields["prefix"] == "internal error"


def test_kubevirt_libvirt_lines():
    # {"component":"virt-launcher","level":"info","msg":"libvirt version: 11.10.0, package: 12.el9 (builder@centos.org, 2026-03-10-15:08:41, )","subcomponent":"libvirt","thread":"22","timestamp":"2026-06-16T07:16:32.057000Z"}
    r, [rec] = read(EX / "kubevirt-18147-dest-abort-libvirt-subcomponent/virt-launcher-excerpt.jsonl")
    assert r.facts.format == "kubevirt" and r.facts.unparsed == 4
    assert rec.line == 5 and rec.tid == 22 and rec.level == "info" and rec.func is None
    assert rec.kind == "version" and rec.fields == {"version": "11.10.0",
                                                    "package": "12.el9 (builder@centos.org, 2026-03-10-15:08:41, )"}
    assert rec.time == 1781594192.057
    assert r.facts.libvirt_version == "11.10.0"


def test_kubevirt_pos_is_func_line(tmp_path):
    line = {"component": "virt-launcher", "level": "error", "msg": "internal error: connection closed due to keepalive timeout",
            "pos": "virKeepAliveTimerInternal:135", "subcomponent": "libvirt", "thread": "31",
            "timestamp": "2026-06-16T07:16:32.057000Z"}
    p = tmp_path / "launcher.jsonl"
    p.write_text(json.dumps(line) + "\n")
    r, [rec] = read(p)
    assert (rec.func, rec.src_line, rec.tid, rec.kind) == ("virKeepAliveTimerInternal", 135, 31, "error")


def test_forced_format(tmp_path):
    p = tmp_path / "x.log"
    p.write_text("virtqemud[7034]: internal error: connection closed due to keepalive timeout\n")
    assert LogReader(str(p), "text").facts.format == "file"    # not read yet
    r, recs = read(p, "text")
    assert recs == [] and r.facts.format == "text"
    r, recs = read(p, "journal")
    assert len(recs) == 1
