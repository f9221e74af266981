"""Short calls for notebooks: the common moves over an event table and an Analysis.

Every function takes the event table (`events_frame(...)`) first; the same calls
are on the table itself through the pandas accessor ``df.libvirt``:

    df = loganalyzer.events(["src-libvirtd.log", "dst-libvirtd.log"])
    df.libvirt.thread(13693, path="src")          # the lines of one thread
    df.libvirt.pointer("0x7fd78402e550")          # its lifetimes (a `lifetime` column)
    df.libvirt.lifetimes("0x7fd78402e550")        # one row per lifetime
    df.libvirt.around(line=6280, path="src")      # the window around an event
    df.libvirt.around(time="2026-11-25 20:29:53.724", before="2s", after="3s")
    df.libvirt.migration(analysis)                # the records of one migration
    df.libvirt.brief()                            # a compact view for reading

and for the analysis (the CLI's `analyze`, with the same names):

    a = loganalyzer.analyze(paths)
    loganalyzer.verdicts(a); loganalyzer.evidence(a.failed[0])
    print(loganalyzer.render_report(a, "text"))    # or markdown, json, html
    loganalyzer.timeline(a)                        # the --timeline figure
"""
from __future__ import annotations

import io
import os
import re
from datetime import datetime, timedelta

import pandas as pd

# the pointer columns of the event table (frame.COMMON)
COMMON = ("client", "ka", "conn", "dconn", "sock", "mon", "vm", "domain", "uuid")

__all__ = [
    "events", "thread_lines", "pointer_life", "pointer_lifetimes", "window", "migration_records",
    "evidence_records", "brief", "drop_noise", "kinds", "verdicts", "evidence", "render_report", "timeline",
    "migration_analysis",
    "pick_migration", "LibvirtAccessor",
]

# -- the CLI's `events`, from Python ---------------------------------------------------------


def events(paths, input_format=None, since=None, until=None, tid=None, grep=None) -> pd.DataFrame:
    """The CLI's `events`: the event table of every input (same filters).  The per-input facts
    the CLI prints (format, lines, records, hostname, libvirt version) are in
    ``df.attrs["inputs"]`` (a list of dicts; ``pd.DataFrame(df.attrs["inputs"])``)."""
    from .frame import events_frame
    paths = [os.fspath(paths)] if isinstance(paths, (str, os.PathLike)) else [os.fspath(p) for p in paths]
    facts: list = []
    df = events_frame(paths, input_format, since=since, until=until, tid=tid, grep=grep, facts_out=facts)
    df.attrs["inputs"] = [f.as_dict() for f in facts]
    return df


def kinds(df: pd.DataFrame) -> pd.Series:
    """Records by kind, most frequent first (the table the CLI's `events` prints)."""
    return df["kind"].astype(str).value_counts().rename("records")


# -- paths ----------------------------------------------------------------------------------


def _paths(df) -> list[str]:
    return [str(p) for p in pd.unique(df["path"].astype(str))]


def _resolve_path(df, path) -> list[str]:
    """The paths of df that `path` names: exactly, as the same file, by base name, or by a
    substring ("src" finds ".../src-libvirtd.log").  None: every path."""
    allp = _paths(df)
    if path is None:
        return allp
    path = os.fspath(path)
    if path in allp:
        return [path]
    ab = os.path.abspath(path)
    same = [p for p in allp if os.path.abspath(p) == ab]
    if same:
        return same
    base = [p for p in allp if os.path.basename(p) == os.path.basename(path)]
    if base:
        return base
    sub = [p for p in allp if path in p]
    if sub:
        return sub
    raise ValueError(f"no input matches path {path!r}; the table holds {allp}")


def _path_mask(df, path) -> pd.Series:
    if path is None:
        return pd.Series(True, index=df.index)
    return df["path"].astype(str).isin(_resolve_path(df, path))


def _one_path(df, path) -> str:
    ps = _resolve_path(df, path)
    if len(ps) != 1:
        raise ValueError(f"say which input (path=...): {ps}")
    return ps[0]


def _stream_key(path: str):
    """Files of one rotated set are one process's history: a pointer lives across them."""
    from .sources import rotation_key
    if path == "-":
        return ("-", "-")
    return (os.path.dirname(os.path.abspath(path)), rotation_key(os.path.basename(path))[0])


# -- threads --------------------------------------------------------------------------------


def thread_lines(df: pd.DataFrame, tid, path=None, since=None, until=None) -> pd.DataFrame:
    """The records of thread `tid` (optionally of one input, and between two times)."""
    m = (df["tid"] == int(tid)).fillna(False) & _path_mask(df, path)
    if since is not None:
        m &= df["time"] >= _ts(since)
    if until is not None:
        m &= df["time"] <= _ts(until)
    return df[m]


# -- pointers -------------------------------------------------------------------------------

_FIRST_PTR = re.compile(r"\b\w+=(0x[0-9a-fA-F]+)")


def _norm_ptr(ptr) -> str:
    if isinstance(ptr, int):
        return hex(ptr)
    s = str(ptr).strip().lower()
    if not s.startswith("0x"):
        s = "0x" + s
    if not re.fullmatch(r"0x[0-9a-f]+", s):
        raise ValueError(f"{ptr!r} is not a pointer (0x...)")
    return s


def _mentions(df, ptr: str) -> pd.Series:
    """Rows whose message or any pointer column holds the pointer (as a whole token)."""
    exact = re.compile(r"(?<![0-9A-Za-z])" + re.escape(ptr) + r"(?![0-9A-Fa-f])", re.I)
    mask = pd.Series(False, index=df.index)
    for col in ("message", "fields") + COMMON:
        if col not in df:
            continue
        s = df[col]
        quick = s.astype("string").str.contains(ptr, case=False, regex=False).fillna(False).astype(bool)
        if quick.any():
            sub = s[quick].astype(str)
            hit = sub.map(lambda t: exact.search(t) is not None)
            mask.loc[hit.index[hit.values]] = True
    return mask


def _life_event(kind: str, func, message, ptr: str) -> str:
    """'new' when this record creates the pointer, 'dispose' when it frees it, else ''.
    The object a *_NEW / *_DISPOSE probe is about is its first pointer
    (RPC_KEEPALIVE_NEW: ka=<this> client=<not this>)."""
    msg = message if isinstance(message, str) else ""
    m = _FIRST_PTR.search(msg)
    first = m.group(1).lower() if m else None
    if first != ptr:
        return ""
    if kind.endswith("_NEW"):
        return "new"
    if kind.endswith("_DISPOSE"):
        return "dispose"
    if isinstance(func, str) and func.endswith("Dispose"):
        return "dispose"
    return ""


def pointer_life(df: pd.DataFrame, ptr, path=None, lifetime=None, at=None) -> pd.DataFrame:
    """Every record that mentions pointer `ptr`, split into its lifetimes.

    A lifetime starts at a record that creates the pointer (RPC_CLIENT_NEW,
    RPC_SERVER_CLIENT_NEW, RPC_KEEPALIVE_NEW, RPC_SOCKET_NEW, QEMU_MONITOR_NEW, OBJECT_NEW...;
    the probes of one object, e.g. OBJECT_NEW then RPC_CLIENT_NEW, open one lifetime) and is
    ended by its *_DISPOSE (or a *Dispose function).  Once freed, the address can be given
    to a new object: its next *_NEW opens the next lifetime.  Added columns:

      lifetime   1, 2, ... per process log (0: records before the first creation this log shows)
      event      'new' / 'dispose' / ''
      disposed   True for records after the lifetime's dispose (stale references)

    Select with lifetime=N, or at=<an event> (anything with .path/.line, a row, or
    (path, line)) for the lifetime that event belongs to.
    """
    ptr = _norm_ptr(ptr)
    sel = df[_mentions(df, ptr) & _path_mask(df, path)]
    if sel.empty:
        out = sel.assign(lifetime=pd.Series(dtype="int64"), event=pd.Series(dtype="object"),
                         disposed=pd.Series(dtype="bool"))
        out.attrs = {}
        return out
    life = []
    event = []
    disposed = []
    state: dict = {}
    kinds_ = sel["kind"].astype(str).tolist()
    funcs = sel["func"].astype(object).tolist()
    msgs = sel["message"].astype(object).tolist()
    paths = sel["path"].astype(str).tolist()
    for k, f, msg, p in zip(kinds_, funcs, msgs, paths):
        st = state.setdefault(_stream_key(p), {"n": 0, "open": False, "gone": False, "kinds": set()})
        ev = _life_event(k, f, msg, ptr)
        if ev == "new":
            # a second probe of the same object (OBJECT_NEW + RPC_CLIENT_NEW) stays in the
            # lifetime; a new object after a dispose (or a repeated probe: a lost dispose) opens one
            if not st["open"] or st["gone"] or k in st["kinds"]:
                st["n"] += 1
                st.update(open=True, gone=False, kinds=set())
            st["kinds"].add(k)
        life.append(st["n"])
        event.append(ev)
        disposed.append(st["gone"])
        if ev == "dispose":
            st["gone"] = True
    out = sel.assign(lifetime=life, event=event, disposed=disposed)
    out.attrs = {}
    if at is not None:
        lifetime = _lifetime_at(out, at)
    if lifetime is not None:
        out = out[out["lifetime"] == int(lifetime)]
    return out


def _event_place(ev):
    """(path, line, time) of an Evidence, Place, KeepaliveDeath, row, dict or (path, line)."""
    if isinstance(ev, tuple) and len(ev) >= 2:
        return str(ev[0]), int(ev[1]), (ev[2] if len(ev) > 2 else None)
    if isinstance(ev, (pd.Series, dict)):
        get = ev.get
        return get("path"), get("line"), get("time")
    return getattr(ev, "path", None), getattr(ev, "line", None), getattr(ev, "time", None)


def _lifetime_at(life: pd.DataFrame, at) -> int:
    path, line, _ = _event_place(at)
    if path is None or line is None:
        raise ValueError("at= needs an event with a path and a line")
    in_path = life[life["path"].astype(str).isin(_resolve_path(life, path))] if len(life) else life
    before = in_path[in_path["line"] <= int(line)]
    if before.empty:
        raise ValueError(f"the pointer is not mentioned at or before {path}:{line}")
    return int(before["lifetime"].iloc[-1])


def pointer_lifetimes(df: pd.DataFrame, ptr, path=None) -> pd.DataFrame:
    """One row per lifetime of `ptr`: where it was created and disposed, what it was
    (the creating probe and its classname), how many records and threads mention it."""
    life = ptr if isinstance(ptr, pd.DataFrame) else pointer_life(df, ptr, path=path)
    rows = []
    for (p, n), g in life.groupby([life["path"].astype(str).map(_stream_key), "lifetime"], sort=False):
        new = g[g["event"] == "new"]
        disp = g[g["event"] == "dispose"]
        what = ",".join(dict.fromkeys(new["kind"].astype(str)))
        cls = re.findall(r"classname=(\w+)", " ".join(new["message"].astype(str)))
        rows.append({
            "path": str(g["path"].iloc[0]), "lifetime": n,
            "created_by": what or None, "classname": cls[0] if cls else None,
            "created_line": int(new["line"].iloc[0]) if len(new) else None,
            "created": new["time"].iloc[0] if len(new) else pd.NaT,
            "disposed_by": str(disp["kind"].iloc[0]) if len(disp) else None,
            "disposed_line": int(disp["line"].iloc[0]) if len(disp) else None,
            "disposed": disp["time"].iloc[0] if len(disp) else pd.NaT,
            "first_line": int(g["line"].iloc[0]), "last_line": int(g["line"].iloc[-1]),
            "records": len(g), "threads": sorted({int(t) for t in g["tid"].dropna()}),
        })
    return pd.DataFrame(rows)


# -- windows --------------------------------------------------------------------------------


def _ts(t) -> pd.Timestamp:
    if isinstance(t, pd.Timestamp):
        return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    if isinstance(t, datetime):
        return _ts(pd.Timestamp(t))
    from .frame import parse_when
    # whole microseconds: epoch floats carry binary noise (…23.367000103) that would miss a
    # record stamped 23.367
    return pd.Timestamp(round(parse_when(t) * 1_000_000), unit="us", tz="UTC")


def _delta(d, default: float) -> pd.Timedelta:
    if d is None:
        return pd.Timedelta(seconds=default)
    if isinstance(d, (int, float)):
        return pd.Timedelta(seconds=d)
    if isinstance(d, timedelta):
        return pd.Timedelta(d)
    return pd.Timedelta(d)


def window(df: pd.DataFrame, event=None, *, line=None, time=None, path=None,
           before=None, after=None, tid=None) -> pd.DataFrame:
    """The records around an event.

    By line (line=, and path= when the table holds several inputs): the records of that
    input within `before`/`after` lines (default 10).  By time (time=): the records of every
    input (or of path=) within `before`/`after` (seconds, '2s', a Timedelta; default 5 s),
    in time order: the other host's side of the same moment.  `event` may be anything with a
    path and a line (a row, an Evidence, a keepalive death, (path, line)); tid= keeps one thread.
    """
    if event is not None:
        ep, el, et = _event_place(event)
        path = path if path is not None else ep
        line = line if line is not None else el
        if line is None and time is None:
            time = et
    if line is not None and (path is not None or len(_paths(df)) == 1):
        p = _one_path(df, path)
        b = 10 if before is None else int(before)
        a = 10 if after is None else int(after)
        m = (df["path"].astype(str) == p) & (df["line"] >= int(line) - b) & (df["line"] <= int(line) + a)
    elif time is not None:
        t = _ts(time)
        m = (df["time"] >= t - _delta(before, 5)) & (df["time"] <= t + _delta(after, 5)) & _path_mask(df, path)
        m = m.fillna(False)
    elif line is not None:
        raise ValueError(f"line={line}: say which input (path=...): {_paths(df)}")
    else:
        raise ValueError("window needs line= (with path=) or time=")
    if tid is not None:
        m &= (df["tid"] == int(tid)).fillna(False)
    out = df[m]
    if time is not None and line is None and out["path"].nunique() > 1:
        out = out.sort_values("time", kind="stable")
    return out


def evidence_records(df: pd.DataFrame, evidence) -> pd.DataFrame:
    """The records of a list of evidence (or of a Verdict / Migration / death), with its notes."""
    ev = _evidence_list(evidence)
    if not ev:
        return df.iloc[0:0]
    keys = pd.DataFrame([{"_p": _one_path(df, e.path) if _maybe_path(df, e.path) else e.path,
                          "line": int(e.line), "note": getattr(e, "note", "") or ""} for e in ev])
    keys = keys.drop_duplicates(["_p", "line"])
    merged = df.assign(_p=df["path"].astype(str), _i=df.index).merge(keys, on=["_p", "line"], how="inner")
    return merged.set_index("_i").rename_axis(None).drop(columns="_p").sort_index()


def _maybe_path(df, p) -> bool:
    try:
        return len(_resolve_path(df, p)) == 1
    except ValueError:
        return False


# -- migrations -----------------------------------------------------------------------------


def pick_migration(obj, which=None):
    """A Migration from a Migration, an Analysis (the first failed source view, else the first
    failed, else the first; which= an id or an index) or (analysis, id)."""
    if isinstance(obj, tuple):
        obj, which = obj
    if hasattr(obj, "migrations") and hasattr(obj, "hosts"):
        a = obj
        if isinstance(which, str):
            m = a.migration(which)
            if m is None:
                raise ValueError(f"no migration {which!r}; ids: {[x.id for x in a.migrations]}")
            return m
        if isinstance(which, int):
            return a.migrations[which]
        failed = a.failed
        for m in failed:
            if m.role == "source":
                return m
        if failed:
            return failed[0]
        if a.migrations:
            return a.migrations[0]
        raise ValueError("no migration in this analysis")
    if hasattr(obj, "role") and hasattr(obj, "started"):
        return obj
    raise TypeError(f"not a migration or an analysis: {type(obj).__name__}")


def migration_records(df: pd.DataFrame, mig, which=None, peer: bool = False) -> pd.DataFrame:
    """The records of one migration, each with the `reason` it belongs:

      worker        its worker thread, from the API call to its end
      dconn client / dconn ka / dconn conn
                    its connection to the destination (virNetClient, keepalive,
                    virConnect pointers) during their lifetime
      monitor       the domain's QEMU monitor traffic during the migration
      domain        other records naming the domain object (vm pointer) meanwhile
      error / evidence   its error lines and the verdict's evidence

    mig: a Migration, or an Analysis (its first failed migration; which= an id or index).
    peer=True (with an Analysis) adds the other host's view of the same migration,
    and sorts everything by time.
    """
    analysis = mig if hasattr(mig, "hosts") else (mig[0] if isinstance(mig, tuple) else None)
    m = pick_migration(mig, which)
    out = _one_migration(df, m)
    if peer and m.peer:
        if analysis is None:
            raise ValueError("peer=True needs the Analysis (migration_records(df, analysis, ...))")
        pm = analysis.migration(m.peer)
        if pm is not None and _maybe_path(df, pm.path):
            out = pd.concat([out, _one_migration(df, pm)]).sort_values(["time", "line"], kind="stable")
    return out


def _one_migration(df, m) -> pd.DataFrame:
    if not _maybe_path(df, m.path):
        raise ValueError(f"the event table holds no records of {m.path}; load it too "
                         f"(inputs: {_paths(df)})")
    p = _one_path(df, m.path)
    in_path = df["path"].astype(str) == p
    lines = df["line"]
    start = m.started.line if m.started else int(lines[in_path].min())
    if m.ended is not None:
        end = m.ended.line
    elif m.end is not None:
        end = int(lines[in_path & (df["time"] <= _ts(m.end))].max())
    else:
        end = int(lines[in_path].max())
    during = in_path & (lines >= start) & (lines <= end)
    reasons: dict = {}

    def add(mask_or_index, why):
        idx = mask_or_index[mask_or_index].index if isinstance(mask_or_index, pd.Series) else mask_or_index
        for i in idx:
            reasons.setdefault(i, []).append(why)

    if m.tid is not None:
        add(during & (df["tid"] == int(m.tid)).fillna(False), "worker")
    c = m.dconn
    if c is not None:
        lo = min(start, c.created.line) if c.created else start
        hi = max(end, (c.disposed or c.closed).line) if (c.disposed or c.closed) else end
        for ptr, why in ((c.client, "dconn client"), (c.ka, "dconn ka"), (c.conn, "dconn conn")):
            if not ptr:
                continue
            life = pointer_life(df, ptr, path=p)
            for n, g in life.groupby("lifetime"):
                g_lo = int(g["line"].min())
                g_hi = int(g["line"].max())
                if g_hi < start or g_lo > end:
                    continue               # another object at the same address
                has_new = (g["event"] == "new").any()
                has_end = (g["event"] == "dispose").any()
                keep = pd.Series(True, index=g.index)
                if not has_new:
                    keep &= g["line"] >= lo
                if not has_end:
                    keep &= g["line"] <= hi
                add(keep, why)
    # the domain's monitor: the mon pointers its worker used, or 'Entering monitor (mon=.. vm=<vm>'
    mons = set()
    if m.tid is not None:
        mons |= set(df.loc[during & (df["tid"] == int(m.tid)).fillna(False), "mon"].dropna().astype(str))
    if m.vm:
        ent = df.loc[during & df["message"].str.contains(f"vm={m.vm}", regex=False).fillna(False), "message"]
        for msg in ent.astype(str):
            mm = re.search(r"mon=(0x[0-9a-fA-F]+) vm=", msg)
            if mm:
                mons.add(mm.group(1))
        add(during & _mentions(df[during], m.vm).reindex(df.index, fill_value=False), "domain")
    if mons:
        add(during & df["mon"].isin(list(mons)).fillna(False), "monitor")
    for e in list(m.errors):
        add(in_path & (lines == e.line), "error")
    v = m.verdict
    for e in (v.evidence if v is not None else []) + list(m.evidence):
        if _maybe_path(df, e.path) and _one_path(df, e.path) == p:
            add(in_path & (lines == e.line), "evidence")
    idx = sorted(reasons)
    out = df.loc[idx].copy()
    out["reason"] = [",".join(dict.fromkeys(reasons[i])) for i in idx]
    out["migration"] = m.id
    return out


# -- reading --------------------------------------------------------------------------------

# chatty kinds that rarely tell the story: object refcounts, raw monitor I/O, RPC message plumbing
NOISE = ("OBJECT_REF", "OBJECT_UNREF", "QEMU_MONITOR_IO_WRITE", "QEMU_MONITOR_IO_SEND_FD",
         "QEMU_MONITOR_RECV_REPLY", "RPC_SERVER_CLIENT_MSG_RX", "RPC_SERVER_CLIENT_MSG_TX_QUEUE",
         "RPC_CLIENT_MSG_TX_QUEUE", "RPC_CLIENT_MSG_RX")


def drop_noise(df: pd.DataFrame, extra=()) -> pd.DataFrame:
    """Without the chatty kinds (NOISE, plus `extra`)."""
    return df[~df["kind"].astype(str).isin(NOISE + tuple(extra))]


def brief(df: pd.DataFrame, width: int = 160) -> pd.DataFrame:
    """A compact view for reading: input (base name), line, time, tid, level, function and the
    first line of the message (cut to `width`), plus the columns explore added."""
    msg = df["message"].astype(str).str.split("\n", n=1).str[0]
    msg = msg.where(msg.str.len() <= width, msg.str[:width - 1] + "…")
    out = pd.DataFrame({
        "input": df["path"].astype(str).map(os.path.basename),
        "line": df["line"],
        "time": df["time"].dt.strftime("%H:%M:%S.%f").str[:-3],
        "tid": df["tid"],
        "level": df["level"],
        "func": df["func"],
        "message": msg,
    }, index=df.index)
    for extra in ("lifetime", "event", "disposed", "reason", "note"):
        if extra in df:
            out[extra] = df[extra]
    return out


# -- the analysis ---------------------------------------------------------------------------


def verdicts(analysis) -> pd.DataFrame:
    """One row per migration view with a verdict: cause, confidence, who detected it, summary."""
    rows = []
    for m in analysis.migrations:
        v = m.verdict
        if v is None:
            continue
        rows.append({"id": m.id, "host": analysis.display_host(m.host), "role": m.role,
                     "domain": m.domain, "outcome": m.outcome, "cause": v.cause,
                     "confidence": v.confidence, "detected_by": v.detected_by, "rule": v.rule,
                     "evidence": len(v.evidence), "summary": v.summary})
    cols = ["id", "host", "role", "domain", "outcome", "cause", "confidence", "detected_by",
            "rule", "evidence", "summary"]
    return pd.DataFrame(rows, columns=cols)


def _evidence_list(obj) -> list:
    if obj is None:
        return []
    if isinstance(obj, (list, tuple)):
        return list(obj)
    if hasattr(obj, "verdict") and hasattr(obj, "role"):          # a Migration
        return list(obj.verdict.evidence) if obj.verdict is not None else list(obj.evidence)
    ev = getattr(obj, "evidence", None)
    if isinstance(ev, list):
        return ev
    raise TypeError(f"no evidence on {type(obj).__name__}")


def evidence(obj) -> pd.DataFrame:
    """The evidence lines of a Verdict, Migration (its verdict's), keepalive death, Finding or
    Connection as a table: path, line, time, text, note."""
    rows = [{"path": e.path, "line": e.line,
             "time": pd.Timestamp(round(e.time * 1000), unit="ms", tz="UTC") if e.time is not None else pd.NaT,
             "text": e.text, "note": getattr(e, "note", "")} for e in _evidence_list(obj)]
    return pd.DataFrame(rows, columns=["path", "line", "time", "text", "note"])


def migration_analysis(analysis, mig):
    """An Analysis of one migration only: its views on each host, their connections and keepalive
    deaths (what `scan --reports` writes one report of).  mig: a Migration or its id."""
    from .analysis import migration_analysis as of_migration
    m = analysis.migration(mig) if isinstance(mig, str) else mig
    if m is None:
        raise ValueError(f"no migration {mig!r}; ids: {[x.id for x in analysis.migrations]}")
    return of_migration(analysis, m)


def render_report(analysis, format: str = "text", output=None, migration=None) -> str:
    """The CLI's `analyze --format FORMAT [-o OUTPUT]`: the report as a string (text, markdown,
    json or html), also written to `output` when given.  migration= (an id or a Migration):
    the report of that migration alone (its views on each host), as `scan --reports` writes it."""
    mid = getattr(migration, "id", migration)
    if mid is not None:
        analysis = migration_analysis(analysis, mid)
    text = _render(analysis, format, mid)
    if output is not None:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    return text


def _render(analysis, fmt: str, migration=None) -> str:
    if fmt == "json":
        from .report.jsonout import to_json
        return to_json(analysis)
    if fmt in ("markdown", "md"):
        from .report.markdown import to_markdown
        return to_markdown(analysis, migration=migration)
    if fmt == "html":
        from .report.html import to_html
        return to_html(analysis, migration=migration)
    if fmt == "text":
        from .report.text import print_analysis, report_console
        buf = io.StringIO()
        print_analysis(analysis, report_console(buf))
        return buf.getvalue()
    raise ValueError(f"unknown format {fmt!r}: use text, json, markdown or html")


def timeline(analysis, output=None, **kw):
    """The CLI's `analyze --timeline FILE`: draw the timeline (saved to FILE when given) and
    return the matplotlib Figure; keywords go to report.timeline.draw_timeline (migration=...)."""
    from .report.timeline import draw_timeline
    return draw_timeline(analysis, output, **kw)


# -- the accessor ---------------------------------------------------------------------------


@pd.api.extensions.register_dataframe_accessor("libvirt")
class LibvirtAccessor:
    """``df.libvirt``: the explore calls on an event table."""

    def __init__(self, df: pd.DataFrame):
        missing = {"path", "line", "time", "tid", "kind", "message"} - set(df.columns)
        if missing:
            raise AttributeError(f"not an event table (no {sorted(missing)}); build one with "
                                 "loganalyzer.events_frame(paths)")
        self._df = df

    def thread(self, tid, path=None, since=None, until=None) -> pd.DataFrame:
        return thread_lines(self._df, tid, path=path, since=since, until=until)

    def pointer(self, ptr, path=None, lifetime=None, at=None) -> pd.DataFrame:
        return pointer_life(self._df, ptr, path=path, lifetime=lifetime, at=at)

    def lifetimes(self, ptr, path=None) -> pd.DataFrame:
        return pointer_lifetimes(self._df, ptr, path=path)

    def around(self, event=None, *, line=None, time=None, path=None, before=None, after=None,
               tid=None) -> pd.DataFrame:
        return window(self._df, event, line=line, time=time, path=path, before=before,
                      after=after, tid=tid)

    window = around

    def migration(self, mig, which=None, peer: bool = False) -> pd.DataFrame:
        return migration_records(self._df, mig, which=which, peer=peer)

    def evidence(self, obj) -> pd.DataFrame:
        return evidence_records(self._df, obj)

    def brief(self, width: int = 160) -> pd.DataFrame:
        return brief(self._df, width)

    def quiet(self, extra=()) -> pd.DataFrame:
        return drop_noise(self._df, extra)

    def kinds(self) -> pd.Series:
        return kinds(self._df)

    def grep(self, pattern, case: bool = True) -> pd.DataFrame:
        """Records whose message matches a regular expression."""
        return self._df[self._df["message"].str.contains(pattern, case=case, regex=True).fillna(False)]

    def between(self, since=None, until=None) -> pd.DataFrame:
        m = pd.Series(True, index=self._df.index)
        if since is not None:
            m &= (self._df["time"] >= _ts(since)).fillna(False)
        if until is not None:
            m &= (self._df["time"] <= _ts(until)).fillna(False)
        return self._df[m]

    def input(self, path) -> pd.DataFrame:
        """The records of one input (path, base name or a part of it: 'src')."""
        return self._df[_path_mask(self._df, path)]
