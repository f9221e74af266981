"""What a scan found, as one table: ScanResult, ScanError and the rows of migrations and findings."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ..csvcells import write_csv


@dataclass
class ScanError:
    """An input (or part of one) that could not be used, and why."""
    path: str
    reason: str
    kind: str = "input"   # unreadable | corrupt | truncated | cut | not-a-log | unsafe | too-large | internal | input

    def as_dict(self) -> dict:
        return asdict(self)


ROW_COLUMNS = ["kind", "host", "file", "line", "domain", "uuid", "role", "start", "end", "outcome",
               "cause", "confidence", "evidence", "peer_host", "id", "headline", "summary", "error"]


class ScanResult:
    """What `scan` found.

    .rows      DataFrame, one row per migration view and per finding (columns ROW_COLUMNS; made
               on first use: the terminal table is printed from .row_dicts without pandas)
    .row_dicts the same rows as dicts, in the same order (start and end in epoch seconds)
    .errors    [ScanError]: inputs or members that failed, with their reason
    .skipped   [sources.Skipped]: files and members that are not libvirt logs (path, reason)
    .analysis  the combined Analysis of every host (None when nothing was readable)
    .hosts     {correlator label: host name}
    .table()   .rows plus one row per error (outcome "error"): what -o writes
    .exit_code 0 = all inputs used, 1 = some failed, 2 = nothing usable
    .close()   removes the private temporary directory (also done when the result is
               garbage-collected); until then reports can re-read archive members
    """

    def __init__(self, rows, errors, analysis, hosts, streams, stats, spool=None, skipped=()):
        self.row_dicts: list[dict] = rows
        self._frame = None
        self.errors: list[ScanError] = errors
        self.skipped: list = list(skipped)
        self.analysis = analysis
        self.hosts: dict = hosts
        self.streams: list = streams      # [(label, [member display names])]
        self.stats: dict = stats
        self._spool = spool

    @property
    def rows(self) -> "pd.DataFrame":
        if self._frame is None:
            self._frame = rows_frame(self.row_dicts, typed=self.analysis is not None)
        return self._frame

    def close(self) -> None:
        if self._spool is not None:
            self._spool.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def analyses(self):
        return [self.analysis] if self.analysis is not None else []

    @property
    def usable(self) -> bool:
        return self.analysis is not None and bool(self.analysis.hosts)

    @property
    def exit_code(self) -> int:
        if not self.usable:
            return 2
        return 1 if self.errors else 0

    def errors_frame(self) -> "pd.DataFrame":
        import pandas as pd
        return pd.DataFrame([e.as_dict() for e in self.errors], columns=["path", "reason", "kind"])

    def table(self, include_errors: bool = True) -> "pd.DataFrame":
        import pandas as pd
        if not include_errors or not self.errors:
            return self.rows
        err = pd.DataFrame([{"kind": "error", "file": e.path, "outcome": "error", "cause": e.kind,
                             "error": e.reason} for e in self.errors], columns=ROW_COLUMNS)
        if self.rows.empty:
            return err
        err = err.astype({c: self.rows[c].dtype for c in ("start", "end")})
        return pd.concat([self.rows, err], ignore_index=True)

    def write(self, output: str) -> int:
        """Write .table() to a .csv, .parquet or .jsonl file; returns the number of rows."""
        df = self.table()
        low = output.lower()
        if low.endswith(".parquet"):
            out = df.copy()
            for c in out.columns:
                if out[c].dtype == object:
                    out[c] = out[c].astype("string")
            out.to_parquet(output, index=False)
        elif low.endswith(".csv"):
            write_csv(df, output)       # formulas neutralised, text quoted (csvcells.py)
        elif low.endswith((".jsonl", ".ndjson")):
            _write_jsonl(df, output)
        else:
            raise ValueError(f"{output}: unknown output type (use .csv, .parquet or .jsonl)")
        return len(df)

    def __repr__(self):
        return (f"ScanResult({len(self.hosts)} host streams, {len(self.row_dicts)} rows, "
                f"{len(self.errors)} errors)")


def _write_jsonl(df, output: str) -> None:
    """One JSON object per row: the versions, times ISO-8601 to the millisecond, text as
    written (no escaped '/')."""
    import json
    from ..schema import versions
    out = df.copy()
    for c in out.columns:
        if str(out[c].dtype).startswith("datetime64"):
            out[c] = out[c].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
    out = out.astype(object).where(out.notna(), None)
    head = versions()
    encode = json.JSONEncoder(ensure_ascii=False).encode
    with open(output, "w", encoding="utf-8") as fh:
        for row in out.to_dict("records"):
            fh.write(encode({**head, **row}) + "\n")


def _key_evidence(evidence) -> str | None:
    if not evidence:
        return None
    pick = next((e for e in evidence if "countToDeath=0" in e.text), None) \
        or next((e for e in evidence if " error : " in e.text), None) or evidence[0]
    return f"{pick.path}:{pick.line}"


def result_rows(a, names: dict) -> list[dict]:
    """One row per migration view and per finding of the analysis, in the table's order (host,
    start, kind, id); names: {label: host name}."""
    rows = []
    by_id = {m.id: m for m in a.migrations}
    display = {a.display_host(label): host for label, host in names.items()}
    for m in a.migrations:
        v = m.verdict
        peer = by_id.get(m.peer) or by_id.get(m.peer_client)
        if v is not None:
            ev = _key_evidence(v.evidence)
        else:
            ev = f"{m.started.path}:{m.started.line}" if m.started else None
        rows.append({"kind": "migration", "host": names.get(m.host, m.host), "file": m.path,
                     "line": m.started.line if m.started else None, "domain": m.domain, "uuid": m.uuid,
                     "role": m.role, "start": m.start, "end": m.end, "outcome": m.outcome,
                     "cause": v.cause if v else None, "confidence": v.confidence if v else None,
                     "evidence": ev, "peer_host": names.get(peer.host, peer.host) if peer else None,
                     "id": m.id, "headline": v.headline if v else None,
                     "summary": v.summary if v else None, "error": None})
    for i, f in enumerate(a.findings):
        times = [e.time for e in f.evidence if e.time is not None]
        first = f.evidence[0] if f.evidence else None
        rows.append({"kind": "finding", "host": display.get(f.host, f.host),
                     "file": first.path if first else None, "line": first.line if first else None,
                     "domain": None, "uuid": None, "role": None,
                     "start": min(times) if times else None, "end": max(times) if times else None,
                     "outcome": "finding", "cause": f.cause, "confidence": f.confidence,
                     "evidence": _key_evidence(f.evidence), "peer_host": None, "id": f"finding{i + 1}",
                     "headline": f.headline, "summary": f.summary, "error": None})
    rows.sort(key=_order)
    return rows


def _order(row: dict) -> tuple:
    """The table's order: host, start (to the millisecond, as the table's time stamps), kind,
    id; rows without a host or a start after the others."""
    host, start = row["host"], row["start"]
    late = start is None or start != start
    return (host is None, host or "", late, 0 if late else round(start * 1000),
            row["kind"], row["id"])


def rows_frame(rows: list[dict], typed: bool = True) -> "pd.DataFrame":
    """The rows as a DataFrame (columns ROW_COLUMNS, times as UTC time stamps); typed=False: the
    empty table of a scan that read nothing."""
    import pandas as pd
    df = pd.DataFrame(rows, columns=ROW_COLUMNS)
    if not typed:
        return df
    for c in ("start", "end"):
        df[c] = pd.to_datetime((df[c].astype("float64") * 1000).round(), unit="ms", utc=True)
    df["line"] = df["line"].astype("Int64")
    return df
