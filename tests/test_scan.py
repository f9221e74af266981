"""loganalyzer.scan: archives, sosreports, rotated sets, faults, unsafe members, parallel runs.

Every archive is built here from the real samples of p2p-keepalive-timeout (the source
daemon's keepalive killed the migration's dconn while the destination daemon was stopped)."""
from __future__ import annotations

import gzip
import io
import gc
import json
import lzma
import os
import tarfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from loganalyzer.analysis import analyze
from loganalyzer.cli import app
from loganalyzer.fleet import ScanResult, scan

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "samples" / "p2p-keepalive-timeout" / "src-libvirtd.log"
DST = ROOT / "samples" / "p2p-keepalive-timeout" / "dst-libvirtd.log"
HEADER = b"2026-"


def _mig_sig(migs):
    return sorted((m.role, m.domain, m.uuid, round(m.start or 0, 3), round(m.end or 0, 3), m.outcome)
                  for m in migs)


def _death_sig(deaths):
    return sorted((round(d.time or 0, 3), d.client, d.ka, d.idle) for d in deaths)


def _split_at_record(data: bytes, near: int) -> int:
    """Byte offset of the first record header at or after line `near`."""
    lines = data.splitlines(keepends=True)
    off = sum(len(ln) for ln in lines[:near])
    i = near
    while not lines[i].startswith(HEADER):
        off += len(lines[i])
        i += 1
    return off


def _tar_add(tf: tarfile.TarFile, name: str, data: bytes):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mtime = 1700000000
    tf.addfile(ti, io.BytesIO(data))


@pytest.fixture(scope="module")
def logs():
    return SRC.read_bytes(), DST.read_bytes()


@pytest.fixture(scope="module")
def alone():
    """What analyze finds in each file alone, and the verdicts of the pair."""
    a_src, a_dst = analyze([str(SRC)]), analyze([str(DST)])
    pair = analyze([str(SRC), str(DST)])
    return a_src, a_dst, pair


# ---------------------------------------------------------------- two hosts in a tarball
@pytest.fixture(scope="module")
def two_host_tar(tmp_path_factory, logs):
    d = tmp_path_factory.mktemp("tar")
    p = d / "fleet.tar.gz"
    with tarfile.open(p, "w:gz") as tf:
        _tar_add(tf, "fleet/kvm-src/libvirtd.log", logs[0])
        _tar_add(tf, "fleet/kvm-dst/libvirtd.log", logs[1])
        _tar_add(tf, "fleet/kvm-dst/qemu/tiny.log", b"guest log, not a daemon log\n")
        _tar_add(tf, "fleet/README.txt", b"not a log\n")
    return p


def test_tarball_two_hosts_same_as_analyze(two_host_tar, alone, tmp_path):
    a_src, a_dst, pair = alone
    tmp = tmp_path / "t"
    tmp.mkdir()
    r = scan([two_host_tar], jobs=1, tmpdir=str(tmp))
    assert isinstance(r, ScanResult)
    assert r.errors == [] and r.exit_code == 0
    assert sorted(r.hosts.values()) == ["kvm-dst", "kvm-src"]   # "hostname: vm" is generic: folders
    a = r.analysis
    assert _mig_sig(a.migrations) == _mig_sig(a_src.migrations + a_dst.migrations)
    assert _death_sig(a.keepalive_deaths) == _death_sig(a_src.keepalive_deaths + a_dst.keepalive_deaths)
    # paired across the hosts, with the verdicts of the two-file analysis
    rows = r.rows.set_index("role")
    assert rows.loc["source", "peer_host"] == "kvm-dst" and rows.loc["destination", "peer_host"] == "kvm-src"
    want = {m.role: m.verdict.cause for m in pair.migrations}
    assert want == {"source": "dconn-keepalive-timeout", "destination": "dconn-keepalive-timeout"}
    assert {role: rows.loc[role, "cause"] for role in want} == want
    assert rows.loc["source", "evidence"].startswith(f"{two_host_tar}/fleet/kvm-src/libvirtd.log:")
    assert len(list(tmp.iterdir())) == 1                 # the private temp dir, while the result lives
    r.close()
    assert list(tmp.iterdir()) == []                     # the private temp dir is removed


def test_zip_and_plain_tar_same_rows(tmp_path, logs, two_host_tar):
    z = tmp_path / "fleet.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("kvm-src/libvirtd.log", logs[0])
        zf.writestr("kvm-dst/libvirtd.log", logs[1])
    t = tmp_path / "fleet.tar"
    with tarfile.open(t, "w") as tf:
        _tar_add(tf, "kvm-src/libvirtd.log", logs[0])
        _tar_add(tf, "kvm-dst/libvirtd.log", logs[1])
    base = scan([two_host_tar], jobs=1).rows
    cols = ["host", "domain", "role", "start", "end", "outcome", "cause", "confidence", "peer_host", "line"]
    for p in (z, t):
        r = scan([p], jobs=1)
        assert r.exit_code == 0, r.errors
        pd.testing.assert_frame_equal(r.rows[cols], base[cols])


# ---------------------------------------------------------------- sosreports
def _sosreport(root: Path, logs, tailed_cut: int):
    src, dst = logs
    a = root / "sosreport-kvm-a-01234-2026-11-25-abcdef"
    (a / "sos_commands" / "host").mkdir(parents=True)
    (a / "sos_commands" / "host" / "hostname").write_text("kvm-a\n")
    lv = a / "var" / "log" / "libvirt"
    (lv / "qemu").mkdir(parents=True)
    cut = _split_at_record(src, 2000)
    (lv / "libvirtd.log.1.gz").write_bytes(gzip.compress(src[:cut]))   # older
    (lv / "libvirtd.log").write_bytes(src[cut:])                         # newer
    (lv / "qemu" / "tiny.log").write_text("2026-11-25 20:29:23.378+0000: starting up\n")
    b = root / "sosreport-kvm-b-2026-11-25-zyxwvu"
    (b / "sos_commands" / "general").mkdir(parents=True)
    (b / "sos_commands" / "general" / "hostname").write_text("kvm-b\n")
    (b / "sos_strings" / "libvirt").mkdir(parents=True)
    tailed = dst[tailed_cut:]                      # sos keeps the tail, cut mid-line
    (b / "sos_strings" / "libvirt" / "var.log.libvirt.libvirtd.log.tailed").write_bytes(tailed)
    (b / "var" / "log" / "libvirt").mkdir(parents=True)
    return tailed


@pytest.mark.parametrize("packed", [False, True])
def test_sosreports_rotated_and_tailed(tmp_path, logs, alone, packed):
    a_src = alone[0]
    cut = _split_at_record(logs[1], 400) + 23     # in the middle of a line
    tree = tmp_path / "tree"
    tailed = _sosreport(tree, logs, cut)
    assert not tailed.startswith(HEADER)
    tf_path = tmp_path / "tailed.log"
    tf_path.write_bytes(tailed)
    a_tailed = analyze([str(tf_path)])
    pair = analyze([str(SRC), str(tf_path)])
    target = tree
    if packed:
        target = tmp_path / "sosreports.tar.xz"
        with tarfile.open(target, "w:xz") as tf:
            tf.add(tree, arcname="collected")
    r = scan([target], jobs=1)
    assert r.errors == [] and r.exit_code == 0
    assert sorted(r.hosts.values()) == ["kvm-a", "kvm-b"]
    streams = dict(r.streams)
    assert [os.path.basename(p) for p in streams["kvm-a"]] == ["libvirtd.log.1.gz", "libvirtd.log"]
    assert [os.path.basename(p) for p in streams["kvm-b"]] == ["var.log.libvirt.libvirtd.log.tailed"]
    a = r.analysis
    by_host = lambda objs, h: [o for o in objs if o.host == h]   # noqa: E731
    assert _mig_sig(by_host(a.migrations, "kvm-a")) == _mig_sig(a_src.migrations)
    assert _mig_sig(by_host(a.migrations, "kvm-b")) == _mig_sig(a_tailed.migrations)
    assert _death_sig(by_host(a.keepalive_deaths, "kvm-a")) == _death_sig(a_src.keepalive_deaths)
    assert _death_sig(by_host(a.keepalive_deaths, "kvm-b")) == _death_sig(a_tailed.keepalive_deaths)
    rows = r.rows[r.rows.kind == "migration"].set_index("role")
    assert rows.loc["source", "peer_host"] == "kvm-b"
    assert {m.role: m.verdict.cause for m in pair.migrations if m.verdict} == \
        {role: rows.loc[role, "cause"] for role in ("source", "destination")}
    assert rows.loc["source", "cause"] == "dconn-keepalive-timeout"


def test_dot_slash_members_and_root_hostname_file(tmp_path, logs):
    """`tar -C DIR -cf - .` names every member ./...: the evidence path has no /./ in it. A
    sosreport whose host plugin was not collected still names its host in the root `hostname`."""
    tree = tmp_path / "t"
    sos = tree / "sosreport-a1"
    (sos / "sos_commands" / "libvirt").mkdir(parents=True)
    (sos / "sos_commands" / "libvirt" / "virsh_-r_list_--all").write_text(" Id   Name   State\n")
    (sos / "var" / "log" / "libvirt").mkdir(parents=True)
    (sos / "var" / "log" / "libvirt" / "libvirtd.log").write_bytes(logs[0])
    (sos / "hostname").write_text("kvm-a.example.com\n")
    (tree / "kvm-b").mkdir()
    (tree / "kvm-b" / "libvirtd.log").write_bytes(logs[1])
    target = tmp_path / "dot.tar"
    with tarfile.open(target, "w") as tf:
        tf.add(tree, arcname=".")
    assert any(n.startswith("./sosreport-a1/") for n in tarfile.open(target).getnames())
    r = scan([target], jobs=1)
    assert r.errors == []
    assert sorted(r.hosts.values()) == ["kvm-a.example.com", "kvm-b"]
    ev = r.rows.set_index("role").loc["source", "evidence"]
    assert ev.startswith(f"{target}/sosreport-a1/var/log/libvirt/libvirtd.log:"), ev
    assert r.rows.set_index("role").loc["source", "peer_host"] == "kvm-b"


# ---------------------------------------------------------------- faults
def _fault_tree(root: Path, logs) -> dict:
    (root / "good").mkdir(parents=True)
    (root / "good" / "libvirtd.log").write_bytes(logs[1])
    for h in "bcdef":
        (root / f"host{h}").mkdir()
    (root / "hostb" / "libvirtd.log.1.gz").write_bytes(b"\x1f\x8b\x08\x00garbage, not deflate" * 20)
    gz = gzip.compress(logs[0])
    (root / "hostc" / "libvirtd.log.gz").write_bytes(gz[: len(gz) // 2])
    (root / "hostd" / "libvirtd.log").write_text("just some notes\nnothing libvirt here\n")
    (root / "hoste" / "libvirtd.log").write_bytes(bytes(range(256)) * 64)
    os.symlink("no-such-target.log", root / "hostf" / "libvirtd.log")
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as tf:
        _tar_add(tf, "x/libvirtd.log", logs[0])
    (root / "broken.tar.gz").write_bytes(tgz.getvalue()[: len(tgz.getvalue()) // 3])
    return {"hostb/libvirtd.log.1.gz": {"corrupt"}, "hostc/libvirtd.log.gz": {"truncated"},
            "hostf/libvirtd.log": {"unreadable"}, "broken.tar.gz": {"truncated"},
            "broken.tar.gz/x/libvirtd.log": {"truncated"}}


def test_faults_are_listed_and_do_not_stop_the_scan(tmp_path, logs):
    root = tmp_path / "in"
    want = _fault_tree(root, logs)
    r = scan([root], jobs=1)
    got = {}
    for e in r.errors:
        got.setdefault(os.path.relpath(e.path, root), set()).add(e.kind)
        assert e.reason
    assert got == want, r.errors
    # files that are not libvirt logs, whatever their names, are listed with the reason
    assert sorted((os.path.relpath(s.path, root), s.reason) for s in r.skipped) == \
        [("hostd/libvirtd.log", "not a libvirt log"), ("hoste/libvirtd.log", "binary")]
    assert r.exit_code == 1
    assert sorted(r.hosts.values()) == ["good", "hostc", "x"]
    cut = {h: r.analysis.hosts[i].facts[0] for i, h in enumerate(r.hosts.values())}
    # truncated: the records before the break are kept, in a cut file and in a cut tarball
    assert cut["hostc"].records > 1000 and cut["hostc"].ends_early
    assert cut["x"].records > 1000
    assert "good" in set(r.rows[r.rows.kind == "migration"].host)
    t = r.table()
    assert (t.outcome == "error").sum() == len(r.errors)
    assert t[t.outcome == "error"].error.notna().all()


def test_cli_exit_codes_and_outputs(tmp_path, logs, two_host_tar):
    runner = CliRunner()
    root = tmp_path / "in"
    _fault_tree(root, logs)
    out = tmp_path / "s.csv"
    res = runner.invoke(app, ["scan", str(root), "--jobs", "1", "-o", str(out)])
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit)
    df = pd.read_csv(out)
    assert "error" in set(df.outcome) and "failed" in set(df.outcome)
    # nothing usable: exit 2
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "libvirtd.log").write_text("hello\n")
    res = runner.invoke(app, ["scan", str(bad), str(tmp_path / "missing.tar.gz")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    # all good: exit 0, a table, jsonl and parquet, one report per failed migration
    rep = tmp_path / "reports"
    for name in ("s.jsonl", "s.parquet"):
        res = runner.invoke(app, ["scan", str(two_host_tar), "--jobs", "1", "-o", str(tmp_path / name),
                                  "--reports", str(rep)])
        assert res.exit_code == 0, res.output
    assert len(pd.read_parquet(tmp_path / "s.parquet")) == 2
    assert [json.loads(x)["cause"] for x in (tmp_path / "s.jsonl").read_text().splitlines()] == \
        ["dconn-keepalive-timeout"] * 2
    reports = sorted(rep.iterdir())
    assert len(reports) == 1 and reports[0].name.startswith("kvm-src-tiny-")   # one migration, two views
    doc = json.loads(reports[0].read_text())
    assert {m["role"] for m in doc["migrations"]} == {"source", "destination"}
    res = runner.invoke(app, ["scan", str(two_host_tar), "--jobs", "1"])
    assert res.exit_code == 0 and "dconn-keepalive-timeout" in res.output and "by host" in res.output


# ---------------------------------------------------------------- unsafe members
def test_crafted_tarball_nothing_written_outside(tmp_path, logs, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tf:
        _tar_add(tf, "kvm/libvirtd.log", logs[1])
        _tar_add(tf, "../escaped-libvirtd.log", logs[0])
        _tar_add(tf, "../../escaped2-libvirtd.log", logs[0])
        _tar_add(tf, str(tmp_path / "absolute-libvirtd.log"), logs[0])
        for name, target, kind in (("kvm/libvirtd.log.1", "/etc/passwd", tarfile.SYMTYPE),
                                   ("kvm/up-libvirtd.log", "../../../outside-libvirtd.log", tarfile.SYMTYPE),
                                   ("kvm/hard-libvirtd.log", "../hard-target.log", tarfile.LNKTYPE)):
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname = kind, target
            tf.addfile(ti)
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../zip-escaped-libvirtd.log", logs[0])
        zf.writestr("/abs-zip-libvirtd.log", logs[0])
        link = zipfile.ZipInfo("kvm2/libvirtd.log")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    tmp = tmp_path / "private"
    tmp.mkdir()
    r = scan([evil, z], jobs=1, tmpdir=str(tmp))
    unsafe = sorted(os.path.basename(e.path) for e in r.errors if e.kind == "unsafe")
    assert unsafe == sorted(["escaped-libvirtd.log", "escaped2-libvirtd.log", "absolute-libvirtd.log",
                             "libvirtd.log.1", "up-libvirtd.log", "hard-libvirtd.log",
                             "zip-escaped-libvirtd.log", "abs-zip-libvirtd.log", "libvirtd.log"]), r.errors
    assert r.exit_code == 1
    assert list(r.hosts.values()) == ["kvm"]           # the one safe member was scanned
    for name in ("escaped-libvirtd.log", "escaped2-libvirtd.log", "absolute-libvirtd.log",
                 "outside-libvirtd.log", "zip-escaped-libvirtd.log"):
        assert not list(tmp_path.parent.rglob(name)), name
    assert not os.path.exists("/abs-zip-libvirtd.log")
    r.close()
    assert list(work.iterdir()) == [] and list(tmp.iterdir()) == []
    assert "/etc/passwd" not in " ".join(r.rows.evidence.dropna())


def test_size_limit_stops_a_bomb(tmp_path, logs):
    bomb = tmp_path / "bomb.tar.gz"
    with tarfile.open(bomb, "w:gz") as tf:
        _tar_add(tf, "kvm/libvirtd.log", logs[1])
        _tar_add(tf, "big/libvirtd.log", b"\n" * (3 << 20))
    r = scan([bomb], jobs=1, max_bytes=2 << 20)
    kinds = {os.path.relpath(e.path, str(bomb)): e.kind for e in r.errors}
    assert kinds == {"big/libvirtd.log": "too-large"}
    assert list(r.hosts.values()) == ["kvm"]


# ---------------------------------------------------------------- parallel runs give the same table
def test_process_pool_and_dask_local_cluster_same_rows(two_host_tar, tmp_path, logs):
    distributed = pytest.importorskip("distributed")
    d = tmp_path / "dir"
    for h, data in (("kvm-src", logs[0]), ("kvm-dst", logs[1]), ("kvm-x", logs[1])):
        (d / h).mkdir(parents=True)
        (d / h / "libvirtd.log.xz").write_bytes(lzma.compress(data))
    inputs = [two_host_tar, d]
    base = scan(inputs, jobs=1)
    assert base.exit_code == 0 and len(base.rows) >= 5
    gc_before = gc.isenabled()
    pool = scan(inputs, jobs=2)
    pd.testing.assert_frame_equal(pool.rows, base.rows)
    assert gc.isenabled() == gc_before   # collection is off only while the results come in
    # worker processes, as a real cluster has them: tasks and results cross process boundaries
    # pickled, and the workers open the members themselves
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        dk = scan(inputs, dask=client)
    pd.testing.assert_frame_equal(dk.rows, base.rows)
    assert [e.as_dict() for e in dk.errors] == [e.as_dict() for e in base.errors]


# ---------------------------------------------------------------- reports from archives
def _sections(html: str) -> list:
    import re
    return re.findall(r"<h[23][^>]*>([^<]*)", html)


def test_html_reports_from_a_tarball_hold_the_sections_of_analyze(tmp_path, logs, two_host_tar):
    """The events around the incident are read again from inside the (compressed) tarball:
    the report has every section, and as many event rows, as `analyze` on the extracted files."""
    from conftest import run_cli
    ex = tmp_path / "x"
    with tarfile.open(two_host_tar) as tf:
        tf.extractall(ex, filter="data")
    files = [ex / "fleet" / "kvm-src" / "libvirtd.log", ex / "fleet" / "kvm-dst" / "libvirtd.log"]
    p = run_cli("analyze", *files, "--format", "html", "-o", tmp_path / "a.html")
    assert p.returncode == 0, p.stderr
    want = (tmp_path / "a.html").read_text()
    rep = tmp_path / "rep"
    p = run_cli("scan", two_host_tar, "--jobs", "1", "--reports", rep, "--reports-format", "html")
    assert p.returncode == 0 and "not read again" not in p.stderr, p.stderr
    [got] = [f.read_text() for f in rep.iterdir()]
    assert _sections(got) == _sections(want)
    assert "Events around the incident" in _sections(got) and "Timeline" in _sections(got)
    rows = got.count('<tr class="lvl-')
    assert rows == want.count('<tr class="lvl-') > 20


def test_a_report_part_that_cannot_be_made_says_why(tmp_path, two_host_tar):
    """Once the scan's temporary copies are gone, the events cannot be read again: the report
    and report_problems (printed on stderr by the CLI) say so, naming the member."""
    from loganalyzer.fleet import write_reports
    r = scan([two_host_tar], jobs=1)
    r.close()
    [path] = write_reports(r, str(tmp_path / "rep"), "html")
    html = Path(path).read_text()
    member = f"{two_host_tar}/fleet/kvm-src/libvirtd.log"
    assert "Events around the incident" in _sections(html)
    assert f"could not be read again for the events around the incident: {member}: not read again" in html
    assert any(p.startswith(f"{member}: not read again for the events around the incident (")
               for p in r.analysis.report_problems), r.analysis.report_problems


def test_scan_table_printed_without_pandas_in_the_rows_order(two_host_tar):
    """The terminal table of a scan is made from the rows as dicts: pandas (~35 MB, a third of a
    second) is imported only for -o or `.rows`, whose DataFrame holds the same rows in the same
    order (host, start, kind, id; rows without a start last)."""
    import subprocess
    import sys
    code = ("import sys; from loganalyzer.cli import main; sys.argv = ['loganalyzer', 'scan', "
            f"{str(two_host_tar)!r}]\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('pandas imported' if 'pandas' in sys.modules else 'no pandas', file=sys.stderr)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert "dconn-keepalive-timeout" in p.stdout, p.stdout[-500:]
    assert p.stderr.strip().splitlines()[-1] == "no pandas", p.stderr[-500:]
    # several hosts, findings without a time: the printed order is the table's
    dirs = [d for d in sorted((ROOT / "samples").iterdir()) if d.is_dir()][:12]
    r = scan([str(d) for d in dirs], jobs=1)
    assert len({x["host"] for x in r.row_dicts}) > 5 and any(x["start"] is None for x in r.row_dicts)
    assert [x["id"] for x in r.row_dicts] == list(r.rows["id"])
    assert [x["host"] for x in r.row_dicts] == list(r.rows["host"])
