"""Damage inside archives, and a scan that is told to stop.

- a compressed tarball cut inside a log member keeps the part of the member before the cut
  (it lost the whole member): checked against the stdlib / zstandard decoders on the same
  bytes and `events` on the part they give;
- SIGTERM and SIGHUP during `scan` stop the workers and remove the private temporary
  directory (exit 128 + the signal), as Ctrl-C does;
- `--dask local` leaves no dask-scratch-space in $TMPDIR; `--jobs` is capped;
- a zip's symlink member is checked by type and size before anything of it is read
  (its 384 MiB are never read: peak RSS measured with getrusage(RUSAGE_CHILDREN)).

Every archive is built here from the real logs of p2p-keepalive-timeout.
"""
from __future__ import annotations

import io
import lzma
import os
import resource
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
import zlib

import pytest
import zstandard
from conftest import ROOT, SAMPLES

from loganalyzer import LogReader
from loganalyzer.fleet import scan

KA = SAMPLES / "p2p-keepalive-timeout"
ENV = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")


def _tar(members) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1700000000
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


CODECS = {
    "tar.gz": (lambda b: _gzip(b), lambda b: zlib.decompressobj(31).decompress(b), "gzip"),
    "tar.zst": (zstandard.ZstdCompressor().compress, lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b), "zstd"),
    "tar.xz": (lzma.compress, lambda b: lzma.LZMADecompressor().decompress(b), "xz"),
}


def _gzip(b: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(b) + c.flush()


@pytest.mark.parametrize("ext", sorted(CODECS))
def test_tarball_cut_inside_a_log_member_keeps_its_start(tmp_path, ext):
    compress, reference, name = CODECS[ext]
    src, dst = (KA / "src-libvirtd.log").read_bytes(), (KA / "dst-libvirtd.log").read_bytes()
    whole = _tar([("fleet/kvm-dst/libvirtd.log", dst), ("fleet/kvm-src/libvirtd.log", src)])
    member = tarfile.open(fileobj=io.BytesIO(whole)).getmember("fleet/kvm-src/libvirtd.log")
    blob = compress(whole)
    cut = blob[: int(len(blob) * 0.8)]
    tarball = tmp_path / f"fleet.{ext}"
    tarball.write_bytes(cut)
    # what the reference decoder gives of the cut tarball: the src member's first bytes
    prefix = reference(cut)
    kept = prefix[member.offset_data:member.offset_data + member.size]
    assert 1000 < len(kept) < len(src) and src.startswith(kept)
    plain = tmp_path / "kept.log"
    plain.write_bytes(kept)
    want = LogReader(str(plain))
    want_recs = [r.raw for r in want]

    r = scan([tarball], jobs=1)
    by_host = {r.hosts[h.label]: h for h in r.analysis.hosts}
    assert sorted(by_host) == ["kvm-dst", "kvm-src"]
    assert by_host["kvm-src"].facts[0].records == len(want_recs) > 1000
    assert by_host["kvm-dst"].facts[0].records == sum(1 for _ in LogReader(str(KA / "dst-libvirtd.log")))
    mdisplay = f"{tarball}/fleet/kvm-src/libvirtd.log"
    errors = sorted((e.path, e.kind, e.reason) for e in r.errors)
    assert errors[0] == (str(tarball), "truncated", f"the {name} data is cut short: the members before the break are read")
    assert errors[1][:2] == (mdisplay, "truncated")
    assert errors[1][2].startswith("member cut short: the archive ends after ") and \
        errors[1][2].endswith("; the part before the cut is read")
    assert len(errors) == 2 and r.exit_code == 1
    # the part before the cut is analysed as the same bytes would be on their own
    got = [x.raw for x in LogReader(mdisplay, stream=r.analysis.opener(mdisplay))]
    assert got == want_recs
    r.close()


# ---------------------------------------------------------------- stopping a scan
@pytest.fixture(scope="module")
def big_tarball(tmp_path_factory):
    """12 hosts of 8 MB each: a scan of it runs long enough (seconds) to be stopped."""
    data = (KA / "src-libvirtd.log").read_bytes() * 8
    p = tmp_path_factory.mktemp("big") / "fleet.tar.gz"
    with tarfile.open(p, "w:gz", compresslevel=1) as tf:
        for i in range(12):
            ti = tarfile.TarInfo(f"fleet/host{i:02d}/libvirtd.log")
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return p


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except FileNotFoundError:
        return []


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs /proc to see the workers")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_stops_the_workers_and_removes_the_temporary_directory(tmp_path, big_tarball, sig):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    p = subprocess.Popen([sys.executable, "-m", "loganalyzer", "scan", str(big_tarball), "--jobs", "2",
                          "-o", str(tmp_path / "s.csv")], env=dict(ENV, TMPDIR=str(tmp)), cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        workers = []
        while time.time() < deadline and p.poll() is None and len(workers) < 2:
            workers = _children(p.pid)
            time.sleep(0.02)
        assert len(workers) == 2 and p.poll() is None, "the scan ended before its workers were seen"
        assert [d.name[:17] for d in tmp.iterdir()] == ["loganalyzer-scan-"]      # spooled members
        p.send_signal(sig)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 128 + sig
    assert err == f"loganalyzer: scan stopped by signal {sig.name}: workers stopped, temporary files removed\n"
    assert list(tmp.iterdir()) == []
    assert [w for w in workers if os.path.exists(f"/proc/{w}")] == []
    assert not (tmp_path / "s.csv").exists()


def test_dask_local_leaves_no_scratch_space(tmp_path):
    pytest.importorskip("distributed")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    p = subprocess.run([sys.executable, "-m", "loganalyzer", "scan", str(KA / "src-libvirtd.log"),
                        str(KA / "dst-libvirtd.log"), "--dask", "local", "--jobs", "1", "-o", str(tmp_path / "s.csv")],
                       env=dict(ENV, TMPDIR=str(tmp)), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert list(tmp.iterdir()) == []


def test_jobs_never_start_more_processes_than_cores_or_streams():
    r = scan([KA / "src-libvirtd.log", KA / "dst-libvirtd.log"], jobs=1000)
    assert r.stats["streams"] == 2
    assert r.stats["workers"] == min(2, os.cpu_count() or 1)
    assert scan([KA / "src-libvirtd.log"], jobs=1000).stats["workers"] == 1


# ---------------------------------------------------------------- memory
def peak_rss_mb(*args, timeout=300) -> tuple:
    """(CompletedProcess, peak RSS in MB) of `python -m loganalyzer ARGS`, measured by a
    wrapper process whose only child is that run (RUSAGE_CHILDREN: the largest of them)."""
    code = ("import resource, subprocess, sys;"
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=280);"
            "sys.stderr.write(p.stderr); sys.stdout.write(p.stdout);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr);"
            "sys.exit(p.returncode)")
    p = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "loganalyzer", *map(str, args)],
                       capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=timeout)
    *err, kb = p.stderr.rstrip("\n").split("\n")
    p.stderr = "\n".join(err) + ("\n" if err else "")
    return p, int(kb) / 1024


def test_a_zip_symlink_member_is_not_read(tmp_path):
    """A 384 MiB deflated symlink member (1 MB on disk): its type and size are checked first,
    it is never read (read whole, it would take the run past 300 MB); the real log beside it
    is scanned."""
    z = tmp_path / "fleet.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        link = zipfile.ZipInfo("kvm-a/libvirtd.log")
        link.external_attr = 0o120777 << 16
        link.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(link, "w", force_zip64=True) as w:
            block = b"../" * (1 << 18)
            for _ in range((384 << 20) // len(block)):
                w.write(block)
        zf.writestr("kvm-b/libvirtd.log", (KA / "dst-libvirtd.log").read_bytes())
    assert z.stat().st_size < 8 << 20
    p, rss = peak_rss_mb("scan", z, "--jobs", "1", "-o", tmp_path / "s.csv")
    assert p.returncode == 1, p.stderr
    assert (f"  {z}/kvm-a/libvirtd.log: symbolic link pointing outside the archive (a target too long "
            f"to be a path): not followed (unsafe)") in p.stderr.splitlines()
    assert rss < 300, rss
