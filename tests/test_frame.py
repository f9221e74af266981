"""The event table: columns, dtypes, and the fast Arrow route == the Records route."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import SAMPLES, excerpt_files, sample_logs

from loganalyzer import LogReader, events_frame
from loganalyzer.frame import COLUMNS, records_to_frame

KA = SAMPLES / "p2p-keepalive-timeout" / "src-libvirtd.log"


def test_columns_and_dtypes():
    df = events_frame(str(KA))
    assert tuple(df.columns) == COLUMNS and len(df) == 6197
    assert str(df["time"].dtype) == "datetime64[ms, UTC]"
    assert isinstance(df["level"].dtype, pd.CategoricalDtype) and isinstance(df["kind"].dtype, pd.CategoricalDtype)
    assert list(df["level"].cat.categories) == ["debug", "info", "warning", "error", "unknown"]
    for c in ("client", "ka", "conn", "message", "fields", "func"):
        assert pd.api.types.is_string_dtype(df[c]), c
    assert str(df["tid"].dtype) == "Int64" and str(df["line"].dtype) == "int64"


def test_known_row():
    # samples/p2p-keepalive-timeout/src-libvirtd.log:6280
    # 2026-11-25 20:29:53.724+0000: 13681: info : virKeepAliveTimerInternal:126 : RPC_KEEPALIVE_TIMEOUT: ka=0x5602cad67830 client=0x7fd78402e550 countToDeath=0 idle=30
    df = events_frame(str(KA))
    row = df[df["line"] == 6280].iloc[0]
    assert row["time"] == pd.Timestamp("2026-11-25 20:29:53.724", tz="UTC")
    assert (row["tid"], row["level"], row["func"], row["src_line"], row["kind"]) == (
        13681, "info", "virKeepAliveTimerInternal", 126, "RPC_KEEPALIVE_TIMEOUT")
    assert (row["ka"], row["client"]) == ("0x5602cad67830", "0x7fd78402e550")
    assert json.loads(row["fields"]) == {"countToDeath": "0", "idle": "30"}


@pytest.mark.parametrize("path", sample_logs() + excerpt_files(),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fast_route_equals_records_route(path):
    """events_frame builds file-format tables straight from blocks (rows.py); building them
    from the Records must give the same table, and the same facts, on every sample log."""
    facts: list = []
    fast = events_frame(str(path), facts_out=facts)
    r = LogReader(str(path), with_fields=True)
    slow = records_to_frame(list(r))
    pd.testing.assert_frame_equal(fast.reset_index(drop=True), slow, check_categorical=False)
    assert facts == [r.facts]


def test_several_inputs_and_filters():
    ok = SAMPLES / "p2p-ok" / "src-libvirtd.log"
    df = events_frame([str(KA), str(ok)])
    assert len(df) == 6197 + 4343 and df["path"].nunique() == 2
    assert isinstance(df["kind"].dtype, pd.CategoricalDtype)
    t = events_frame(str(KA), tid=13681)
    assert len(t) and (t["tid"] == 13681).all()
    s = events_frame(str(KA), since="2026-11-25 20:29:53.724", until="2026-11-25 20:29:53.724")
    assert 6280 in set(s["line"]) and (s["time"] == pd.Timestamp("2026-11-25 20:29:53.724", tz="UTC")).all()
    g = events_frame(str(KA), grep="countToDeath=0")
    assert list(g["line"]) == [6280]


def test_empty_frame_has_columns(tmp_path):
    f = tmp_path / "empty.log"
    f.write_text("")
    df = events_frame(str(f))
    assert len(df) == 0 and tuple(df.columns) == COLUMNS


def test_message_memory_bounded(monkeypatch):
    """The families of messages are remembered across blocks up to rows.KNOWN_LIMIT; past it
    only the most recently used are kept, and the table stays the same."""
    from loganalyzer import rows
    monkeypatch.setattr(rows, "KNOWN_LIMIT", 300)
    monkeypatch.setattr(rows, "TABLE_BLOCK", 64 << 10)     # many blocks
    fast = events_frame(str(KA))
    slow = records_to_frame(list(LogReader(str(KA), with_fields=True)))
    pd.testing.assert_frame_equal(fast.reset_index(drop=True), slow, check_categorical=False)


def test_growing_strings_equal_concatenation():
    """rows' store of known messages: appended slices (with nulls, past its first capacity)
    read back as their concatenation, and `taken` keeps the rows asked for."""
    import numpy as np
    import pyarrow as pa

    from loganalyzer.arrays import GrowingStrings
    msgs = [r.message for r in LogReader(str(KA))][:3000]
    arr = pa.array([None if i % 7 == 0 else m for i, m in enumerate(msgs)], pa.string())
    col = GrowingStrings(nbytes=64, n=4)
    parts = [arr.slice(a, b - a) for a, b in zip(range(0, 3000, 450), list(range(450, 3000, 450)) + [3000])]
    for part in parts:
        col.extend(part)
        col.extend(part.slice(0, 0))
    assert col.array().equals(pa.concat_arrays(parts))
    assert (col.valid() == ~np.array([i % 7 == 0 for i in range(3000)])).all()
    at = pa.array(np.arange(2999, -1, -3), pa.int64())
    assert col.taken(at).array().equals(arr.take(at))


def test_events_frame_gives_the_memory_pool_back():
    """events_frame builds the table with the C library's allocator (as `events` does) and
    leaves Arrow's default pool as it found it."""
    import pyarrow as pa
    before = pa.default_memory_pool().backend_name
    df = events_frame(str(KA))
    assert len(df) == 6197 and pa.default_memory_pool().backend_name == before


def _without_compiler(monkeypatch):
    from loganalyzer import arrays, blockrows, rows
    monkeypatch.setattr(blockrows, "_rows", None)
    monkeypatch.setattr(blockrows, "_easy", None)
    monkeypatch.setattr(rows, "MessageIndex", None)
    monkeypatch.setattr(rows, "gather", None)
    monkeypatch.setattr(arrays, "gather", None)


@pytest.mark.parametrize("path", sample_logs()[::5], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_route_without_a_compiler_gives_the_same_table(path, monkeypatch):
    """Without the compiled scans (_headscan.rows, _tablescan) the table is read with RE2,
    NumPy and a dict of the known messages: the same table."""
    from loganalyzer import blockrows, rows
    assert None not in (blockrows._rows, blockrows._easy, rows.MessageIndex, rows.gather)
    fast = events_frame(str(path))
    _without_compiler(monkeypatch)
    pd.testing.assert_frame_equal(events_frame(str(path)), fast)


@pytest.mark.parametrize("compiled", [True, False])
def test_forgetting_known_messages_keeps_the_table(compiled, monkeypatch):
    from loganalyzer import rows
    if not compiled:
        _without_compiler(monkeypatch)
    monkeypatch.setattr(rows, "KNOWN_LIMIT", 200)
    monkeypatch.setattr(rows, "TABLE_BLOCK", 32 << 10)
    forgets = []
    keep = rows.KnownMessages.keep
    monkeypatch.setattr(rows.KnownMessages, "keep", lambda self, new_row: forgets.append(1) or keep(self, new_row))
    fast = events_frame(str(KA))
    slow = records_to_frame(list(LogReader(str(KA), with_fields=True)))
    pd.testing.assert_frame_equal(fast.reset_index(drop=True), slow, check_categorical=False)
    assert len(forgets) >= 3


@pytest.mark.parametrize("compiled", [True, False])
def test_a_first_key_with_current_and_odd_spacing(compiled, tmp_path, monkeypatch):
    """A message whose first key is 'current mon' and whose items are parted by more than one
    blank: the Arrow route cut its first item after 'current' (no '=' in it) and Arrow's
    slicing then freed memory it did not own (the process aborted).  Both routes now read it
    as families.py does."""
    if not compiled:
        _without_compiler(monkeypatch)
    real = KA.read_text().splitlines()[828]          # src-libvirtd.log:829, a QMP command sent
    assert " : QEMU_MONITOR_SEND_MSG: mon=" in real
    log = tmp_path / "current.log"
    log.write_text(real.replace("SEND_MSG: mon=", "SEND_MSG: current mon=").replace(" msg=", "  msg=") + "\n"
                   + real.replace("QEMU_MONITOR_SEND_MSG: mon=", "current job=none  mon=") + "\n")
    fast = events_frame(str(log))
    slow = records_to_frame(list(LogReader(str(log), with_fields=True)))
    pd.testing.assert_frame_equal(fast.reset_index(drop=True), slow, check_categorical=False)
    assert json.loads(fast["fields"][0])["current mon"] == "0x7fd77c005740"


def test_the_parquet_writer_thread_ends_with_either_sides_error():
    """write_frames' writer thread: what was built before an error of the reading is written
    and the error raised; an error of the writing stops the reading and is raised; no thread
    is left behind."""
    import threading
    from types import SimpleNamespace
    from loganalyzer.frame import _written_behind
    from loganalyzer.sources import InputError
    before = threading.active_count()
    tbl = SimpleNamespace(num_rows=3)
    written = []

    def reading():
        yield tbl
        yield tbl
        raise InputError("x.log: read error")

    with pytest.raises(InputError):
        _written_behind(written.append, reading())
    assert written == [tbl, tbl]
    asked = []

    def many():
        for _ in range(100):
            asked.append(1)
            yield tbl

    def full(t):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        _written_behind(full, many())
    assert len(asked) < 100
    assert _written_behind(written.append, iter([tbl] * 5)) == 15 and len(written) == 7
    assert threading.active_count() == before


def test_the_compiled_table_route_never_imports_arrow_compute(tmp_path):
    """events -o x.parquet of file-form logs (migrations, errors, job and phase lines, known
    messages forgotten) never imports pyarrow.compute (50-80 ms of its start-up): the route's
    takes are the compiled gather's, its kinds dictionary-encoded with NumPy."""
    import os
    import subprocess
    import sys
    root = Path(__file__).resolve().parent.parent
    code = ("import sys\nfrom loganalyzer import frame, rows\nrows.KNOWN_LIMIT = 300\nrows.TABLE_BLOCK = 64 << 10\n"
            "for p in sys.argv[2:]:\n"
            "    assert frame.write_frames(frame.iter_event_tables(p), sys.argv[1]) > 1000\n"
            "print('compute imported' if 'pyarrow.compute' in sys.modules else 'no compute')\n")
    paths = [KA, SAMPLES / "p2p-ok" / "src-libvirtd.log", SAMPLES / "p2p-ok" / "dst-libvirtd.log"]
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.parquet"), *map(str, paths)],
                       capture_output=True, text=True, cwd=root, env=dict(os.environ, PYTHONPATH=str(root)),
                       timeout=300)
    assert p.returncode == 0 and p.stdout.strip().splitlines()[-1] == "no compute", p.stderr[-800:]


def test_a_new_probe_name_on_every_line_keeps_the_kinds_bounded(tmp_path, monkeypatch):
    """A log can name a different probe on every line (a real RPC_CLIENT_MSG_RX line of the
    keepalive sample, its name numbered): the kinds the table remembers are those of the
    messages it keeps, and every record keeps its own kind."""
    from loganalyzer import rows
    monkeypatch.setattr(rows, "KNOWN_LIMIT", 300)
    monkeypatch.setattr(rows, "TABLE_BLOCK", 32 << 10)
    line = next(x for x in KA.read_text().splitlines() if "RPC_CLIENT_MSG_RX: " in x)
    log = tmp_path / "libvirtd.log"
    log.write_text("".join(line.replace("RPC_CLIENT_MSG_RX", f"RPC_CLIENT_MSG_RX{i}") + "\n" for i in range(6000)))
    seen = []
    forget = rows.FileTables._forget

    def counted(self):
        out = forget(self)
        seen.append(len(self._kind_names))
        return out

    monkeypatch.setattr(rows.FileTables, "_forget", counted)
    df = events_frame(str(log))
    assert df["kind"].astype(str).tolist() == [f"RPC_CLIENT_MSG_RX{i}" for i in range(6000)]
    # (forgetting keeps the most recent half of KNOWN_LIMIT; a block holds ~1,500 of these)
    assert len(seen) >= 4 and 0 < max(seen) <= 150
