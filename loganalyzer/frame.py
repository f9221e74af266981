"""Records -> pandas: the event table, built from columns, in bounded chunks."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from .reader import FileFacts, LogReader
from .records import LEVELS, Record
from .sources import expand_paths

# Fields common enough to be columns of their own; the rest go to `fields` (JSON).
COMMON = ("client", "ka", "conn", "dconn", "sock", "mon", "vm", "domain", "uuid")
COLUMNS = ("path", "line", "time", "tid", "level", "func", "src_line", "kind", "message") + COMMON + ("fields",)


class EventFilter:
    """--since/--until/--tid/--grep, applied to records as they stream."""

    def __init__(self, since=None, until=None, tid=None, grep=None):
        self.since = parse_when(since) if since is not None else None
        self.until = parse_when(until) if until is not None else None
        self.tid = tid
        self.grep = re.compile(grep) if grep else None

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


def records_to_frame(records) -> pd.DataFrame:
    cols = {c: [] for c in COLUMNS}
    a = {c: cols[c].append for c in COLUMNS}
    for r in records:
        a["path"](r.path)
        a["line"](r.line)
        a["time"](r.time)
        a["tid"](r.tid)
        a["level"](r.level)
        a["func"](r.func)
        a["src_line"](r.src_line)
        a["kind"](r.kind)
        a["message"](r.message)
        f = r.fields
        if f:
            rest = None
            for c in COMMON:
                a[c](f.get(c))
            if len(f) > sum(1 for c in COMMON if c in f):
                rest = json.dumps({k: v for k, v in f.items() if k not in COMMON}, ensure_ascii=False)
            a["fields"](rest)
        else:
            for c in COMMON:
                a[c](None)
            a["fields"](None)
    return _finish(cols)


def _finish(cols) -> pd.DataFrame:
    t = np.array([np.nan if x is None else x for x in cols["time"]], dtype="float64")
    data = {
        "path": pd.Categorical(cols["path"]),
        "line": np.array(cols["line"], dtype="int64"),
        "time": pd.to_datetime(np.round(t * 1000), unit="ms", utc=True),
        "tid": pd.array(cols["tid"], dtype="Int64"),
        "level": pd.Categorical(cols["level"], categories=list(LEVELS)),
        "func": pd.array(cols["func"], dtype="string"),
        "src_line": pd.array(cols["src_line"], dtype="Int64"),
        "kind": pd.Categorical(cols["kind"]),
        "message": pd.array(cols["message"], dtype="string"),
    }
    for c in COMMON + ("fields",):
        data[c] = pd.array(cols[c], dtype="string")
    return pd.DataFrame(data)


def iter_event_frames(paths, input_format=None, event_filter: EventFilter | None = None,
                      chunk_rows: int = 200_000, facts_out: list | None = None):
    """DataFrames of at most chunk_rows events, streaming over every input.
    facts_out, when given, receives each input's FileFacts as it finishes."""
    for path in expand_paths([paths] if isinstance(paths, str) else paths):
        reader = LogReader(path, input_format)
        buf: list = []
        for r in reader:
            if event_filter is None or event_filter(r):
                buf.append(r)
                if len(buf) >= chunk_rows:
                    yield records_to_frame(buf)
                    buf = []
        if buf:
            yield records_to_frame(buf)
        if facts_out is not None:
            facts_out.append(reader.facts)


def events_frame(paths, input_format=None, since=None, until=None, tid=None, grep=None) -> pd.DataFrame:
    """Every record of every input as one DataFrame (see COLUMNS)."""
    flt = EventFilter(since, until, tid, grep)
    frames = list(iter_event_frames(paths, input_format, flt if flt.active else None))
    if not frames:
        return records_to_frame([])
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def facts_frame(facts: list[FileFacts]) -> pd.DataFrame:
    df = pd.DataFrame([f.as_dict() for f in facts])
    for c in ("first_time", "last_time"):
        if c in df:
            df[c] = pd.to_datetime(df[c], unit="s", utc=True)
    return df


def write_frames(frames, out: str) -> int:
    """Write streamed frames to .parquet, .csv or .jsonl; returns rows written."""
    n = 0
    if out.endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq
        writer = None
        schema = None
        try:
            for df in frames:
                tbl = pa.Table.from_pandas(df, preserve_index=False)
                if writer is None:
                    # categoricals can differ between chunks: store them as plain strings
                    schema = pa.schema([f if not pa.types.is_dictionary(f.type) else pa.field(f.name, pa.string())
                                        for f in tbl.schema])
                    writer = pq.ParquetWriter(out, schema)
                tbl = tbl.cast(schema)
                writer.write_table(tbl)
                n += len(df)
            if writer is None:
                empty = pa.Table.from_pandas(records_to_frame([]), preserve_index=False)
                pq.write_table(empty, out)
        finally:
            if writer is not None:
                writer.close()
    elif out.endswith(".csv"):
        first = True
        with open(out, "w", encoding="utf-8", newline="") as fh:
            for df in frames:
                df.to_csv(fh, index=False, header=first)
                first = False
                n += len(df)
            if first:
                records_to_frame([]).to_csv(fh, index=False)
    elif out.endswith(".jsonl") or out.endswith(".json"):
        with open(out, "w", encoding="utf-8") as fh:
            for df in frames:
                df = df.copy()
                df["time"] = df["time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
                df.to_json(fh, orient="records", lines=True, force_ascii=False)
                n += len(df)
    else:
        raise ValueError(f"{out}: output must end in .parquet, .csv or .jsonl")
    return n
