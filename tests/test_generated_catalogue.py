"""The generated catalogue (loganalyzer/rules/generated.py, data/catalogue.json.gz read from
libvirt's and QEMU's released sources by tools/catalogue_build.py, causes from
data/causes.tsv): the data agrees with the table and the index, every message's own example
is recognised through `analyze` with its cause, and the texts of the issue are judged."""
from __future__ import annotations

import collections
import re

import pytest

import loganalyzer
from loganalyzer.rules import causemap, generated, printf
from loganalyzer.rules.catalogue import PATTERNS_BY_ID, best_root, match_text

CAT = generated.load()


def test_data_holds_the_three_libvirt_releases_and_qemu():
    assert {"7.0.0", "9.0.0", "11.3.0"} <= set(CAT.versions["libvirt"])
    assert len(CAT.versions["qemu"]) >= 3
    assert len(CAT.messages) > 2500
    # every message says where it comes from
    assert all(m.files and m.versions for m in CAT.messages)


def test_every_message_is_placed_by_the_table_as_the_data_says():
    """The data was placed with the causes.tsv of this tree (else: tools/catalogue_build.py
    --place-only), and the table leaves no message unplaced."""
    table = causemap.load()
    for e in CAT.data["messages"]:
        row = table.place(e["code"], e["files"], e["format"])
        assert row is not None, e
        assert (row.number, row.cause) == (e["rule"], e["cause"]), e["format"]


def test_index_keys_are_the_ones_index_keys_computes():
    texts = [CAT.text_format(m) for m in CAT.messages]
    prefixed = [m.origin == "libvirt" and any(p["info"].split("%s", 1)[0] for p in CAT.prefixes.get(m.code, []))
                for m in CAT.messages]
    assert [e.get("key") for e in CAT.data["messages"]] == generated.index_keys(texts, prefixed)


def test_prefixes_are_libvirts_own():
    """The prefix of each code, read from virErrorMsgStrings of every version."""
    expect = {
        "VIR_ERR_INTERNAL_ERROR": "internal error: %s",
        "VIR_ERR_OPERATION_FAILED": "operation failed: %s",
        "VIR_ERR_OPERATION_INVALID": "Requested operation is not valid: %s",
        "VIR_ERR_OPERATION_TIMEOUT": "Timed out during operation: %s",
        "VIR_ERR_OPERATION_ABORTED": "operation aborted: %s",
        "VIR_ERR_MIGRATE_UNSAFE": "Unsafe migration: %s",
        "VIR_ERR_CPU_INCOMPATIBLE": "the CPU is incompatible with host CPU: %s",
        "VIR_ERR_CONFIG_UNSUPPORTED": "unsupported configuration: %s",
        "VIR_ERR_ARGUMENT_UNSUPPORTED": "argument unsupported: %s",
        "VIR_ERR_INVALID_ARG": "invalid argument: %s",
        "VIR_ERR_SYSTEM_ERROR": "%s",
    }
    for code, fmt in expect.items():
        per = CAT.prefixes[code]
        assert [p["info"] for p in per] == [fmt], code
        assert set(per[0]["versions"]) == set(CAT.versions["libvirt"]), code
    assert CAT.bare_text("VIR_ERR_CPU_INCOMPATIBLE") == "the CPU is incompatible with host CPU"


def test_code_and_procedure_numbers():
    assert CAT.codes["VIR_ERR_INTERNAL_ERROR"] == 1
    assert CAT.codes["VIR_ERR_OPERATION_INVALID"] == 55
    assert CAT.codes["VIR_ERR_ARGUMENT_UNSUPPORTED"] == 74
    assert CAT.codes["VIR_ERR_MIGRATE_UNSAFE"] == 81
    assert CAT.domains["VIR_FROM_QEMU"] == 10
    assert CAT.data["procedures"]["DOMAIN_MIGRATE_PERFORM3_PARAMS"] == 305
    assert CAT.data["procedures"]["DOMAIN_MIGRATE_PREPARE3_PARAMS"] == 303


def test_format_conversions():
    rx = re.compile(printf.to_regex("migration of disk %1$s failed: %2$s"))
    m = rx.search("operation failed: migration of disk vda failed: No space left on device")
    assert m.groups() == ("vda", "No space left on device")
    assert printf.normalise("Unable to set FD %1$d blocking") == "Unable to set FD %d blocking"
    assert printf.normalise("%llu bytes of %zu, %lld%%") == "%u bytes of %u, %d%%"
    assert re.fullmatch(printf.to_regex("%llu bytes, %d%% done"), "123 bytes, -4% done")


_CAUSES_OF_TEXT = collections.defaultdict(set)
for _j, _m in enumerate(CAT.messages):
    if _j not in CAT.generic:
        _CAUSES_OF_TEXT[CAT.text_format(_m)].add(_m.cause)


def _expected_causes(i: int, line: str, got) -> set:
    """The causes a message's example can get: its own, that of the other codes that print
    the same words (the same text under two codes, told apart only by a prefix), or, where a
    hand-written pattern covers the same text, the hand-written pattern's (it says more:
    'Cannot recv data: <ssh stderr>' is an ssh failure to connect)."""
    out = set(_CAUSES_OF_TEXT[CAT.text_format(CAT.messages[i])])
    if got in out:
        return out
    gm = CAT.regex(i).search(line)
    for p in PATTERNS_BY_ID.values():
        hm = p.regex.search(line)
        if gm is not None and hm is not None and generated.same_text(gm, hm):
            out.add(p.cause)
    return out


def test_every_example_is_recognised_through_analyze_as_virsh_prints_it(tmp_path):
    """Each recognisable message's own example, printed as virsh prints an error, read by
    `analyze`: the line gets the message's cause (or, where a hand-written pattern covers the
    same text, the hand-written pattern's, which agrees)."""
    msgs = [(i, m) for i, m in enumerate(CAT.messages) if i not in CAT.generic]
    lines = ["error: " + CAT.example(m) for _, m in msgs]
    out = tmp_path / "virsh-migrate.out"
    out.write_text("\n".join(lines) + "\n")
    a = loganalyzer.analyze([str(out)], judge=False)
    by_line = collections.defaultdict(list)
    for h in a.hosts:
        for _, line, _, text, hit in h.text_hits:
            if text == lines[line - 1].strip():      # not the joined-lines pass
                by_line[line].append(hit)
    wrong = []
    for n, (i, m) in enumerate(msgs, 1):
        root = best_root(by_line.get(n, []))
        got = root.cause if root else None
        if got not in _expected_causes(i, lines[n - 1], got):
            wrong.append((m.id, m.placed, got, lines[n - 1][:120]))
    assert wrong == [], f"{len(wrong)} of {len(msgs)}: {wrong[:10]}"


def test_every_example_is_recognised_through_analyze_inside_a_daemon_error_line(tmp_path):
    """The same, as a daemon writes it: `DATE: TID: error : FUNCTION:LINE : <message>`, with the
    function that reports the message, in a log where no migration is seen (the default log
    level writes only warnings and errors): each record gets its message's cause.  QEMU's
    messages reach a daemon log only inside libvirt's own (the virsh form above has them)."""
    msgs = [(i, m) for i, m in enumerate(CAT.messages)
            if i not in CAT.generic and m.origin == "libvirt" and m.functions]
    assert len(msgs) > 2000
    lines = [f"2026-12-06 20:00:00.{n % 1000:03d}+0000: 4242: error : {m.functions[0]}:100 : {CAT.example(m)}"
             for n, (_, m) in enumerate(msgs)]
    log = tmp_path / "libvirtd.log"
    log.write_text("\n".join(lines) + "\n")
    a = loganalyzer.analyze([str(log)], judge=False)
    assert not a.migrations
    by_line = collections.defaultdict(list)
    for h in a.hosts:
        for _, line, _, _, hit in h.text_hits:
            by_line[line].append(hit)
    # the keepalive death's own error line is a death the correlator reports, not text
    deaths = {d.line for d in a.keepalive_deaths}
    wrong = []
    for n, (i, m) in enumerate(msgs, 1):
        root = best_root(by_line.get(n, []))
        got = root.cause if root else ("dconn-keepalive-timeout" if n in deaths else None)
        if got not in _expected_causes(i, "error: " + CAT.example(m), got):
            wrong.append((m.id, m.placed, got, lines[n - 1][40:160]))
    assert wrong == [], f"{len(wrong)} of {len(msgs)}: {wrong[:10]}"


def test_the_index_never_hides_a_message():
    """Of the real error and warning lines of the samples, the index finds exactly what trying
    every generated regex finds."""
    from tests.samplelib import SAMPLES   # noqa: F401  (the samples' location)
    texts = []
    for p in sorted(SAMPLES.glob("*/*.log")) + sorted(SAMPLES.glob("*/*.out")):
        for line in p.read_text(errors="replace").splitlines():
            if " error : " in line or " warning : " in line or line.startswith("error:"):
                # the same message at other times and in other threads is tried once
                texts.append(re.sub(r"^[0-9 :.+-]+: [0-9]+: ", "", line))
    texts = sorted(set(texts))
    assert len(texts) > 100
    for t in texts:
        fast = {msg.id for _, msg in CAT.match(t)}
        brute = set()
        for i, m in enumerate(CAT.messages):
            if i in CAT.generic:
                continue
            for mm in CAT.regex(i).finditer(t):
                if mm.end() > mm.start() and CAT.accepts(t, mm.start(), i):
                    brute.add(i)
                    break
        # of several messages on the same text one is kept: each brute hit is kept or has
        # a kept message covering the same text
        assert fast <= {CAT.messages[i].id for i in brute}, t
        assert bool(fast) == bool(brute), t


ISSUE_TEXTS = [
    ("error: argument unsupported: post-copy is not supported with tunnelled migration", "unsupported-config"),
    ("internal error: unable to execute QEMU command 'migrate-set-capabilities': Postcopy is not supported",
     "unsupported-config"),
    ("error: Requested operation is not valid: zero-copy is only available for parallel migration",
     "unsupported-config"),
    ("error: Requested operation is not valid: cannot migrate domain: Migration is disabled when using "
     "feature 'peer mode' in device 'ivshmem'", "unsupported-config"),
]


@pytest.mark.parametrize("text,cause", ISSUE_TEXTS)
def test_issue_texts(text, cause):
    root = best_root(match_text(text))
    assert root is not None and root.cause == cause


def test_wrapped_qemu_text_is_the_cause_not_the_wrapper():
    hits = match_text("internal error: unable to execute QEMU command 'migrate-set-capabilities': "
                      "Postcopy is not supported")
    # QEMU's own text first (it says why), libvirt's wrapper after it
    assert [h.pattern.versions.split()[0] for h in hits] == ["qemu", "libvirt"]
    assert hits[0].role == "root" and "Postcopy is not supported" in hits[0].text


def test_same_wording_elsewhere_in_libvirt_is_not_this_message():
    """A daemon record names the function that reported the text: the same wording from a
    function off the migration path (virHostCPUGetCPUID's 'Unable to open') is not taken."""
    line = ("2026-11-25 20:31:08.822+0000: 14564: error : virHostCPUGetCPUID:1422 : Unable to open "
            "/dev/kvm: Permission denied")
    assert CAT.match(line) == []
    assert CAT.match("error: Unable to open /dev/kvm: Permission denied") != []


def test_function_name_messages_need_their_prefix():
    """virReportUnsupportedError's text is the API's name: only after its prefix."""
    assert CAT.match("debug : virDomainGetJobInfo:123 : dom=0x1") == []
    hits = CAT.match("error: this function is not supported by the connection driver: virDomainMigrate3")
    assert [m.code for _, m in hits] == ["VIR_ERR_NO_SUPPORT"]


def test_hand_written_patterns_keep_their_meaning():
    hits = match_text("error: Unsafe migration: Migration without shared storage is unsafe")
    assert [h.id for h in hits] == ["unsafe-migration"]
    assert all(h.id in PATTERNS_BY_ID for h in match_text("internal error: client socket is closed"))
