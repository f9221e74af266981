"""The grammar (grammars/libvirtd.lark) on known real lines: it is the definition of a record."""
from __future__ import annotations

from conftest import SAMPLES

from loganalyzer.grammar import parse_message_with_grammar, parse_with_grammar
from loganalyzer.records import stamp_to_epoch


def line_of(rel: str, n: int) -> str:
    with open(SAMPLES / rel, encoding="utf-8", newline="") as fh:
        for i, ln in enumerate(fh, 1):
            if i == n:
                return ln.rstrip("\n")
    raise AssertionError(f"{rel} has no line {n}")


KA_LINE = ("2026-11-25 20:29:53.724+0000: 13681: info : virKeepAliveTimerInternal:126 : "
           "RPC_KEEPALIVE_TIMEOUT: ka=0x5602cad67830 client=0x7fd78402e550 countToDeath=0 idle=30")


def test_keepalive_timeout_probe():
    # samples/p2p-keepalive-timeout/src-libvirtd.log:6280
    assert line_of("p2p-keepalive-timeout/src-libvirtd.log", 6280) == KA_LINE
    stamp, tid, level, func, src_line, kind, msg, fields = parse_with_grammar(KA_LINE)
    assert stamp == "2026-11-25 20:29:53.724+0000"
    assert stamp_to_epoch(stamp) == 1795638593.724
    assert (tid, level, func, src_line, kind) == (13681, "info", "virKeepAliveTimerInternal", 126,
                                                   "RPC_KEEPALIVE_TIMEOUT")
    assert fields == {"ka": "0x5602cad67830", "client": "0x7fd78402e550", "countToDeath": "0", "idle": "30"}
    assert isinstance(fields["ka"], str)   # pointers stay strings


def test_multiline_qmp_send_msg():
    # samples/p2p-keepalive-timeout/src-libvirtd.log:829-830: the QMP command ends in \r\n,
    # so " fd=-1" is the next physical line; the record is both lines
    first = line_of("p2p-keepalive-timeout/src-libvirtd.log", 829)
    second = line_of("p2p-keepalive-timeout/src-libvirtd.log", 830)
    assert first.endswith('"id":"libvirt-1"}\r') and second == " fd=-1"
    rec = parse_with_grammar(first + "\n" + second)
    assert rec[5] == "QEMU_MONITOR_SEND_MSG"
    assert rec[6].endswith('"id":"libvirt-1"}\r\n fd=-1')   # the message keeps both lines
    # the separator before " fd=" is the whitespace "\r\n ": the value ends at the brace
    assert rec[7] == {"mon": "0x7fd77c005740",
                      "msg": '{"execute":"qmp_capabilities","id":"libvirt-1"}', "fd": "-1"}


def test_api_line_with_vm_group():
    # samples/p2p-keepalive-timeout/src-libvirtd.log:4247
    ln = line_of("p2p-keepalive-timeout/src-libvirtd.log", 4247)
    assert ln == ("2026-11-25 20:29:23.867+0000: 13689: debug : virDomainGetJobInfo:9327 : dom=0x7fd774007950, "
                  "(VM: name=tiny, uuid=6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001), info=0x7fd7943fe8b0")
    rec = parse_with_grammar(ln)
    assert rec[5] == "kv"
    assert rec[7] == {"dom": "0x7fd774007950", "domain": "tiny",
                      "uuid": "6a0d7f59-3a5e-4c0b-9a57-7c1de0a5b001", "info": "0x7fd7943fe8b0"}


def test_starting_job_line():
    # samples/p2p-keepalive-timeout/src-libvirtd.log:750
    ln = line_of("p2p-keepalive-timeout/src-libvirtd.log", 750)
    assert ln.endswith("Starting job: API=remoteDispatchDomainCreateXML job=none agentJob=none asyncJob=start "
                       "(vm=0x7fd784004840 name=tiny, current job=none agentJob=none async=none)")
    rec = parse_with_grammar(ln)
    assert rec[5] == "job"
    f = rec[7]
    assert f["action"] == "Starting job" and f["API"] == "remoteDispatchDomainCreateXML"
    assert f["vm"] == "0x7fd784004840" and f["name"] == "tiny" and f["current job"] == "none"
    assert f["asyncJob"] == "start" and f["async"] == "none"


def test_error_prefix_and_text():
    # samples/p2p-keepalive-timeout/src-libvirtd.log:44 and :43 (a system error has no prefix)
    rec = parse_with_grammar(line_of("p2p-keepalive-timeout/src-libvirtd.log", 44))
    assert (rec[2], rec[5]) == ("error", "error")
    assert rec[7] == {"prefix": "internal error",
                      "text": "Unable to get system bus connection: Could not connect: No such file or directory"}
    rec = parse_with_grammar(line_of("p2p-keepalive-timeout/src-libvirtd.log", 43))
    assert rec[7] == {"prefix": None,
                      "text": "Unable to find 'dnsmasq' binary in $PATH: No such file or directory"}


def test_header_lines():
    # samples/p2p-ok/src-libvirtd.log:1-2
    v = parse_with_grammar(line_of("p2p-ok/src-libvirtd.log", 1))
    assert v[3] is None and v[5] == "version"
    assert v[7] == {"version": "9.0.0", "package": "9.0.0-4+deb12u2 (Debian)"}
    h = parse_with_grammar(line_of("p2p-ok/src-libvirtd.log", 2))
    assert h[5] == "hostname" and h[7] == {"hostname": "vm"}


def test_old_clock_format_and_non_records():
    # the 0.6-era form: local clock, no date, no thread id
    rec = parse_with_grammar("10:15:02.101: debug : qemudStartup:123 : msg here")
    assert rec[0] == "10:15:02.101" and rec[1] is None and rec[3] == "qemudStartup"
    assert parse_with_grammar("not a record") is None
    assert parse_with_grammar(" fd=-1") is None


def test_bare_messages():
    # journald MESSAGE= / KubeVirt msg: the same families without a header
    assert parse_message_with_grammar("internal error: connection closed due to keepalive timeout", "error") == (
        "error", "internal error: connection closed due to keepalive timeout",
        {"prefix": "internal error", "text": "connection closed due to keepalive timeout"})
    kind, msg, fields = parse_message_with_grammar(KA_LINE.split(" : ", 2)[2], "info")
    assert kind == "RPC_KEEPALIVE_TIMEOUT" and fields["countToDeath"] == "0"
    assert parse_message_with_grammar("", "debug") == ("text", "", {})


# ---- the record header is the grammar's, in every route that reads it
def test_header_forms_are_built_from_the_grammars_terminals():
    from loganalyzer import header
    from loganalyzer.correlate.interest import INTEREST_PATTERN
    from loganalyzer.grammar import TERMINALS as T
    assert header.FUNC_NAME + ":" + header.funcloc("X")[len("(?:X):"):] == T["FUNCLOC"]
    for name in ("DATETIME", "CLOCK", "TID"):
        assert T[name].endswith(header.TERMINAL_END), name     # cut off where values are read
    uses = {"record start": header.RECORD_START_PATTERN, "header groups": header.HEAD.pattern,
            "Arrow rows' split": header.SPLIT_AT_START.pattern, "prefilter": INTEREST_PATTERN}
    for use, pattern in uses.items():
        for name in ("DATETIME", "CLOCK", "TID"):
            assert T[name] in pattern, (use, name)
    for name in ("LEVEL", "LEVEL_ERR", "_LSEP"):
        assert T[name] in header.HEAD.pattern and T[name] in header.AFTER_TID.pattern
    assert T["FUNCLOC"] in header.HEAD.pattern and T["FUNCLOC"] in header.AFTER_STAMP.pattern


def _lines():
    """Physical lines of real logs (record starts and continuation lines), and edge cases."""
    lines = []
    for rel in ("p2p-keepalive-timeout/src-libvirtd.log", "v7.0-p2p-ok/src-libvirtd.log"):
        lines += (SAMPLES / rel).read_text(encoding="utf-8", errors="replace").splitlines()[:4000]
    lines += ["10:15:02.101: debug : qemudStartup:123 : msg here",
              # Unicode digits are not a time stamp (Python's \d would take them, RE2's would not)
              "２０２６-11-25 20:29:53.724+0000: 13681: info : f:1 : x",
              "2026-11-25 20:29:53.724+0000: ١٣٦٨١: info : f:1 : x",
              "2026-11-25 20:29:53.724+0000: 13681: notice : f:1 : x", " fd=-1", ""]
    return lines


def test_record_start_means_the_same_in_lark_python_and_re2():
    import pyarrow as pa
    import pyarrow.compute as pc

    from loganalyzer.header import RECORD_START, RECORD_START_PATTERN
    lines = _lines()
    python = [RECORD_START.match(ln) is not None for ln in lines]
    re2 = pc.match_substring_regex(pa.array(lines, pa.string()), "^" + RECORD_START_PATTERN).to_pylist()
    assert python == re2
    # the grammar: a line alone parses as a record exactly when it starts one
    step = 7    # (lark takes ~80 us a line: every 7th line, and every edge case)
    picked = list(range(0, len(lines) - 6, step)) + list(range(len(lines) - 6, len(lines)))
    assert sum(python[i] for i in picked) > 500 and sum(not python[i] for i in picked) > 50
    for i in picked:
        assert (parse_with_grammar(lines[i]) is not None) == python[i], lines[i][:100]


def test_kept_terminals_are_the_grammars():
    """terminals.py reads the terminals from grammars/libvirtd.terminals.json (no lark at
    start-up): they must be what lark makes of the grammar as it is now.  After a change of
    the grammar, `python -m loganalyzer.grammar` writes them again."""
    from loganalyzer.grammar import lark_terminals
    from loganalyzer.terminals import TERMINALS, grammar_text, kept_terminals
    kept = kept_terminals(grammar_text())
    assert kept is not None, "grammars/libvirtd.terminals.json is stale: run python -m loganalyzer.grammar"
    assert kept == lark_terminals() == TERMINALS
    assert kept_terminals(grammar_text() + "\n") is None       # made from another grammar: not used
