"""Records -> pandas: the event table, built from columns, in bounded chunks."""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from datetime import datetime, timezone

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from .arrays import from_numpy
from .csvcells import write_csv
from .reader import FileFacts, LogReader
from .records import LEVELS, Record
from .rows import COLUMNS, COMMON, SCHEMA, empty_table, records_table  # noqa: F401 (COLUMNS, COMMON re-exported)
from .sources import InputError, expand_paths

TIME_DTYPE = "datetime64[ms, UTC]"

if TYPE_CHECKING:  # pandas is imported when a DataFrame is asked for (the parquet route does without)
    import pandas as pd


def _pd():
    import pandas
    return pandas


class EventFilter:
    """--since/--until/--tid/--grep, applied to records as they stream."""

    def __init__(self, since=None, until=None, tid=None, grep=None):
        self.since = parse_when(since) if since is not None else None
        self.until = parse_when(until) if until is not None else None
        self.tid = tid
        try:
            self.grep = re.compile(grep) if grep else None
        except re.error as e:
            raise ValueError(f"bad --grep regular expression {grep!r}: {e}") from None

    @property
    def active(self) -> bool:
        return any(x is not None for x in (self.since, self.until, self.tid, self.grep))

    def __call__(self, r: Record) -> bool:
        if self.tid is not None and r.tid != self.tid:
            return False
        if self.since is not None and (r.time is None or r.time < self.since):
            return False
        if self.until is not None and (r.time is None or r.time > self.until):
            return False
        if self.grep is not None and not self.grep.search(r.raw):
            return False
        return True

    def mask_table(self, tbl: pa.Table) -> np.ndarray:
        """The same test on an Arrow table (everything except --grep)."""
        m = np.ones(tbl.num_rows, dtype=bool)
        if self.tid is not None:
            m &= tbl.column("tid").to_numpy(zero_copy_only=False) == self.tid
        t = tbl.column("time").cast(pa.int64()).to_numpy(zero_copy_only=False)
        has = ~np.isnan(t.astype("float64")) if t.dtype.kind == "f" else np.ones(len(t), dtype=bool)
        t = np.nan_to_num(t.astype("float64"), nan=-2**62)
        if self.since is not None:
            m &= has & (t >= round(self.since * 1000))
        if self.until is not None:
            m &= has & (t <= round(self.until * 1000))
        return m

    def mask(self, df: "pd.DataFrame"):
        """The same test on a frame (everything except --grep, which needs raw text)."""
        m = np.ones(len(df), dtype=bool)
        if self.tid is not None:
            m &= (df["tid"] == self.tid).fillna(False).to_numpy(dtype=bool)
        ms = df["time"].to_numpy(dtype="datetime64[ms]").astype("int64")
        has = ~df["time"].isna().to_numpy()
        if self.since is not None:
            m &= has & (ms >= round(self.since * 1000))
        if self.until is not None:
            m &= has & (ms <= round(self.until * 1000))
        return m


def parse_when(value) -> float:
    """'2026-11-25 20:29:53', '2026-11-25T20:29:53.724Z', or epoch seconds -> epoch (UTC)."""
    if isinstance(value, (int, float)):
        return float(value)
    s = str(value).strip()
    try:
        return float(s)
    except ValueError:
        pass
    s = s.replace("T", " ").replace("Z", "+00:00")
    if s.endswith("+0000"):
        s = s[:-5] + "+00:00"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(f"cannot read time {value!r}: use 'YYYY-MM-DD HH:MM:SS[.mmm]' (UTC)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def table_to_frame(tbl: pa.Table) -> "pd.DataFrame":
    """Arrow table (rows.SCHEMA) -> the event table's pandas dtypes: time
    datetime64[ms, UTC], path/level/kind categorical, tid/src_line Int64,
    the text columns pandas strings (pointers stay strings)."""
    pd = _pd()
    df = tbl.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow"), pa.int64(): pd.Int64Dtype()}.get)
    df["line"] = df["line"].astype("int64")
    df["level"] = df["level"].cat.set_categories(list(LEVELS))
    return df


def records_to_frame(records) -> "pd.DataFrame":
    """Records (any mix of inputs) -> the event table."""
    records = list(records)
    return table_to_frame(records_table(None, records) if records else empty_table())


def empty_frame() -> "pd.DataFrame":
    return table_to_frame(empty_table())


def iter_event_tables(paths, input_format=None, event_filter: EventFilter | None = None,
                      facts_out: list | None = None, errors: str = "raise", skipped: list | None = None):
    """Arrow tables (rows.SCHEMA) of every input, streamed (about one per 2 MB block, rows.TABLE_BLOCK).

    facts_out, when given, receives each input's FileFacts as it finishes.
    errors="raise": unusable input raises InputError (one line naming the
    file).  errors="collect": the unusable input gets a FileFacts whose
    `error` says why (appended to facts_out) and the other inputs are read.
    skipped, when given, receives the files under folders that are not libvirt logs
    (sources.Skipped)."""
    collect = errors == "collect"
    errs: list = [] if collect else None
    if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__"):
        paths = [paths]
    expanded = expand_paths(paths, errs, skipped)
    if collect and facts_out is not None:
        for e in errs:
            facts_out.append(_error_facts(str(e)))
    grep = event_filter is not None and event_filter.grep is not None
    for path in expanded:
        reader = LogReader(path, input_format, with_fields=grep)
        try:
            if grep:
                buf = []
                for r in reader:
                    if event_filter(r):
                        buf.append(r)
                        if len(buf) >= 50_000:
                            yield records_table(reader.display, buf)
                            buf = []
                if buf:
                    yield records_table(reader.display, buf)
            else:
                for tbl in reader.tables():
                    if event_filter is not None and event_filter.active:
                        tbl = tbl.filter(from_numpy(event_filter.mask_table(tbl), pa.bool_()))
                    if tbl.num_rows:
                        yield tbl
        except InputError as e:
            if not collect:
                raise
            reader.facts.error = str(e)
            reader.facts.format = "-"
        if facts_out is not None:
            facts_out.append(reader.facts)


def iter_event_frames(paths, input_format=None, event_filter: EventFilter | None = None,
                      chunk_rows: int = 200_000, facts_out: list | None = None,
                      errors: str = "raise"):
    """DataFrames of at most about chunk_rows events, streaming over every input
    (see iter_event_tables for facts_out and errors)."""
    buf, n = [], 0
    for tbl in iter_event_tables(paths, input_format, event_filter, facts_out, errors):
        if buf and (n + tbl.num_rows > chunk_rows or tbl.column("path")[0] != buf[0].column("path")[0]):
            yield _concat_frame(buf)
            buf, n = [], 0
        buf.append(tbl)
        n += tbl.num_rows
    if buf:
        yield _concat_frame(buf)


def _concat_frame(tables) -> "pd.DataFrame":
    if len(tables) == 1:
        return table_to_frame(tables[0])
    # (chunks kept: the text columns stay Arrow's chunks in pandas, not copied once more into
    # one; the dictionaries are unified so that each categorical has one set of categories)
    return table_to_frame(pa.concat_tables(tables).unify_dictionaries())


def _error_facts(msg: str) -> FileFacts:
    f = FileFacts(msg.split(": ", 1)[0])
    f.format = "-"
    f.error = msg
    return f


def events_frame(paths, input_format=None, since=None, until=None, tid=None, grep=None,
                 facts_out: list | None = None) -> "pd.DataFrame":
    """Every record of every input as one DataFrame (see COLUMNS); facts_out, when given,
    receives each input's FileFacts."""
    flt = EventFilter(since, until, tid, grep)
    with _system_pool():
        tables = list(iter_event_tables(paths, input_format, flt if flt.active else None, facts_out=facts_out))
        if not tables:
            return empty_frame()
        return _concat_frame(tables)


@contextmanager
def _system_pool():
    """Arrow's allocations from the C library's allocator while the table is built, as the
    `events` command does (unless ARROW_DEFAULT_MEMORY_POOL chooses): with mimalloc, Arrow's
    default, the first use of the hundreds of MB a big table and its pandas conversion take
    costs ~0.4 s of CPU per million lines more.  Buffers remember their pool: the previous
    one is back afterwards and frees its own."""
    before = pa.default_memory_pool()
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL") or before.backend_name == "system":
        yield
        return
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)


def facts_frame(facts: list[FileFacts]) -> "pd.DataFrame":
    from .schema import stamp_frame, utc_ms
    pd = _pd()
    df = pd.DataFrame([f.as_dict() for f in facts])
    stamp_frame(df, ("first_time", "last_time"))
    for c in ("first_time", "last_time"):
        if c in df:
            df[c] = utc_ms(df[c])
    return df


def _write_jsonl(tbl: pa.Table, fh) -> int:
    """One JSON object per event: the versions, times ISO-8601 to the millisecond, `fields` a
    nested object, text as written (no escaped '/', no \\u escapes)."""
    import json
    import pyarrow.compute as pc
    from .schema import versions
    head = versions()
    # (Arrow's %S of a millisecond timestamp carries the fraction: 20:29:53.724)
    cols = {name: (pc.strftime(tbl.column(name), format="%Y-%m-%dT%H:%M:%SZ") if name == "time"
                   else tbl.column(name)).to_pylist() for name in tbl.column_names}
    dumps, loads = json.JSONEncoder(ensure_ascii=False).encode, json.loads
    names = list(cols)
    for values in zip(*cols.values()):
        row = dict(head)
        row.update(zip(names, values))
        if row.get("fields") is not None:
            row["fields"] = loads(row["fields"])
        fh.write(dumps(row))
        fh.write("\n")
    return tbl.num_rows


def _written_behind(write, tables) -> int:
    """Each table written by a second thread while the next one is built: Arrow's Parquet
    writer (encoding, compression: ~0.5 s a million rows) releases the GIL, so on two cores it
    runs beside the reading.  At most two tables wait; an error of either side ends both and
    is raised here.  Returns the rows written."""
    import queue
    import threading
    waiting: queue.Queue = queue.Queue(maxsize=2)
    failed: list = []

    def writer():
        while (tbl := waiting.get()) is not None:
            if not failed:
                try:
                    write(tbl)
                except BaseException as e:     # (raised again in the caller's thread)
                    failed.append(e)

    thread = threading.Thread(target=writer, name="parquet-writer", daemon=True)
    thread.start()
    n = 0
    try:
        for tbl in tables:
            if failed:
                break
            waiting.put(tbl)
            n += tbl.num_rows
    finally:
        waiting.put(None)
        thread.join()
    if failed:
        raise failed[0]
    return n


def write_frames(frames, out: str) -> int:
    """Write streamed frames (DataFrames, or Arrow tables for .parquet) to
    .parquet, .csv or .jsonl; returns rows written.  Parquet keeps path, level
    and kind dictionary-encoded (pandas reads them back as categoricals)."""
    n = 0
    if out.endswith(".parquet"):
        import pyarrow.parquet as pq
        # statistics only for the short columns: min/max of messages (domain XML, cookies) in
        # the footer of every row group would make the writer's memory grow with the file
        stats = ["line", "time", "tid", "level", "src_line", "kind", "path"]
        # dictionary pages only for the columns of few values: for the rest (messages, pointers)
        # the writer built a dictionary and dropped it at its size limit, a row group at a time
        # (big-1m: writing 0.56 -> 0.47 s, reading back into pandas 0.33 -> 0.27 s, 19 -> 24 MB)
        dicts = ["path", "level", "kind", "func"]
        with pq.ParquetWriter(out, SCHEMA, write_statistics=stats, use_dictionary=dicts) as writer:
            n = _written_behind(writer.write_table, (
                df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, schema=SCHEMA, preserve_index=False)
                for df in frames))
    elif out.endswith(".csv"):
        first = True
        with open(out, "w", encoding="utf-8", newline="") as fh:
            for df in frames:
                if isinstance(df, pa.Table):
                    df = table_to_frame(df)
                write_csv(df, fh, header=first)
                first = False
                n += len(df)
            if first:
                write_csv(empty_frame(), fh)
    elif out.endswith(".jsonl") or out.endswith(".json"):
        with open(out, "w", encoding="utf-8") as fh:
            for df in frames:
                tbl = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, schema=SCHEMA, preserve_index=False)
                n += _write_jsonl(tbl, fh)
    else:
        raise ValueError(f"{out}: output must end in .parquet, .csv or .jsonl")
    return n
