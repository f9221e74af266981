"""The JSON contract of `analyze --format json` (and the rows of the DataFrames)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from types import GeneratorType

from ..schema import versions


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _place(p):
    return {"path": p.path, "line": p.line} if p is not None else None


def input_dict(f, host: str | None = None) -> dict:
    return {"path": f.path, "format": f.format, "lines": f.lines, "records": f.records,
            "unparsed": f.unparsed, "bad_values": f.bad_values, "cut_records": f.cut_records,
            "cut_bytes": f.cut_bytes, "host": f.hostname or host, "libvirt_version": f.libvirt_version,
            "first_time": iso(f.first_time), "last_time": iso(f.last_time),
            "daemon": f.daemon, "warnings": list(f.warnings), "error": f.error}


def dconn_dict(c) -> dict | None:
    if c is None:
        return None
    return {"conn": c.conn, "client": c.client, "ka": c.ka,
            "keepalive_interval": c.keepalive_interval, "keepalive_count": c.keepalive_count,
            "created": _place(c.created), "uri": c.uri, "local_addr": c.local_addr,
            "remote_addr": c.remote_addr, "close_reason": c.close_reason, "closed": _place(c.closed),
            "notes": list(c.notes)}


def migration_dict(a, m) -> dict:
    return {
        "id": m.id, "role": m.role, "host": a.display_host(m.host), "domain": m.domain, "uuid": m.uuid,
        "path": m.path, "line": m.started.line if m.started else None, "api": m.api,
        "dconnuri": m.dconnuri, "migrate_uri": m.migrate_uri, "flags": m.flag_names,
        "flags_value": hex(m.flags) if m.flags is not None else None, "mode": m.mode,
        "bandwidth": m.bandwidth, "start": iso(m.start), "end": iso(m.end), "outcome": m.outcome,
        "phases": [{"phase": p.phase, "time": iso(p.time), "line": p.line} for p in m.phases],
        "qemu_status": [{"status": q.status, "time": iso(q.time), "line": q.line} for q in m.qemu_status],
        "stats": [dict(s._asdict(), time=iso(s.time)) for s in m.stats[-20:]],
        # the first statistics after each dirty-bitmap sync: what each pass left to send again
        "passes": [{"sync": p.sync_count, "line": p.sample.line, "time": iso(p.sample.time),
                    "remaining": p.sample.remaining,
                    "expected_downtime_ms": p.sample.expected_downtime_ms} for p in m.syncs],
        "downtime_limit_ms": m.downtime_limit.ms if m.downtime_limit else None,
        "errors": [{"path": e.path, "line": e.line, "time": iso(e.time), "text": e.text[:500]} for e in m.errors],
        "dconn": dconn_dict(m.dconn), "peer": m.peer, "client_view": m.peer_client,
        "verdict": verdict_dict(m.verdict),
        "notes": list(m.notes),
    }


def evidence_dict(e) -> dict:
    d = {"path": e.path, "line": e.line, "time": iso(e.time), "text": e.text}
    if e.note:
        d["note"] = e.note
    return d


def verdict_dict(v) -> dict | None:
    if v is None:
        return None
    return {"headline": v.headline, "cause": v.cause, "summary": v.summary, "detected_by": v.detected_by,
            "confidence": v.confidence, "evidence": [evidence_dict(e) for e in v.evidence],
            "missing": list(v.missing), "remedies": list(v.remedies),
            "consequences": [evidence_dict(e) for e in v.consequences]}


def death_dict(a, d) -> dict:
    c = d.connection
    conn = None
    if c is not None:
        conn = {"direction": c.direction, "created": _place(c.created), "uri": c.uri,
                "peer": c.remote_addr if c.direction == "outgoing" else (c.remote_addr or None),
                "purpose": c.purpose, "apis": list(c.apis), "conn": c.conn,
                "keepalive_interval": c.keepalive_interval, "keepalive_count": c.keepalive_count}
    return {"host": a.display_host(d.host), "path": d.path, "line": d.line, "time": iso(d.time),
            "tid": d.tid, "client": d.client, "ka": d.ka, "idle": d.idle, "owner": d.owner,
            "connection": conn, "migration": d.migration, "confidence": d.confidence,
            "evidence": [evidence_dict(e) for e in d.evidence], "notes": list(d.notes),
            "peer_view": ({"path": d.peer_death.path, "line": d.peer_death.line, "time": iso(d.peer_death.time)}
                          if getattr(d, "peer_death", None) else None)}


def finding_dict(f) -> dict:
    return {"headline": f.headline, "cause": f.cause, "summary": f.summary, "confidence": f.confidence,
            "host": f.host,
            "detected_by": f.detected_by, "evidence": [evidence_dict(e) for e in f.evidence],
            "missing": list(f.missing), "remedies": list(f.remedies)}


def _sections(a):
    """(key, value) of the JSON answer, in order; the lists that grow with the log (migrations,
    deaths, findings) as generators, each item made when it is written."""
    labels = {}
    for h in a.hosts:
        for f in h.facts:
            labels[f.path] = a.display_host(h.label)
    yield from versions().items()
    yield "inputs", [input_dict(f, labels.get(f.path)) for f in a.inputs]
    yield "hosts", [{"label": h.label, "host": a.display_host(h.label), "paths": h.paths,
                     # summaries dropped to bound memory on long logs (counted, not silently)
                     "forgotten_connections": h.correlator.forgotten_connections,
                     "forgotten_threads": h.correlator.forgotten_threads} for h in a.hosts]
    yield "clock_offsets", a.pairs
    yield "migrations", (migration_dict(a, m) for m in a.migrations)
    yield "keepalive_deaths", (death_dict(a, d) for d in a.keepalive_deaths)
    yield "findings", (finding_dict(f) for f in a.findings)


def analysis_to_dict(a) -> dict:
    return {k: list(v) if isinstance(v, GeneratorType) else v for k, v in _sections(a)}


def to_json(a, indent: int = 2) -> str:
    return json.dumps(analysis_to_dict(a), indent=indent, ensure_ascii=False)


def write_json(a, fh, indent: int = 2) -> None:
    """to_json(a) and a newline, written to fh one list item at a time: a busy day's answer
    (tens of MB of text, and several times that as dicts) is never held whole.  Each value is
    encoded alone, indented to its depth."""
    encode = indented_encoder(indent)
    pad1 = "\n" + " " * indent
    pad2 = pad1 + " " * indent
    fh.write("{")
    for i, (key, value) in enumerate(_sections(a)):
        fh.write(("," if i else "") + pad1 + encode(key) + ": ")
        if not isinstance(value, GeneratorType):
            fh.write(encode(value, pad1))
            continue
        n = 0
        for item in value:
            fh.write(("," if n else "[") + pad2 + encode(item, pad2))
            n += 1
        fh.write(pad1 + "]" if n else "[]")
    fh.write("\n}\n")


def indented_encoder(indent: int):
    """encode(value, pad="\n") -> json.dumps(value, indent=indent, ensure_ascii=False), each
    line after the first starting with pad: the same text in half the time (the standard
    library's indented encoder is the Python one, a generator per container)."""
    step = " " * indent
    standard = json.JSONEncoder(indent=indent, ensure_ascii=False).encode
    string = json.encoder.encode_basestring
    int_repr, float_repr, inf = int.__repr__, float.__repr__, float("inf")

    def number(o: float) -> str:
        return "NaN" if o != o else "Infinity" if o == inf else "-Infinity" if o == -inf else float_repr(o)

    def put(o, pad, out):       # the order of the standard encoder's tests (bool is an int)
        if isinstance(o, str):
            out.append(string(o))
        elif o is None:
            out.append("null")
        elif o is True:
            out.append("true")
        elif o is False:
            out.append("false")
        elif isinstance(o, int):
            out.append(int_repr(o))
        elif isinstance(o, float):
            out.append(number(o))
        elif isinstance(o, (list, tuple)):
            if not o:
                out.append("[]")
                return
            inner = pad + step
            out.append("[" + inner)
            for i, v in enumerate(o):
                if i:
                    out.append("," + inner)
                put(v, inner, out)
            out.append(pad + "]")
        elif isinstance(o, dict):
            if not o:
                out.append("{}")
                return
            inner = pad + step
            out.append("{" + inner)
            for i, (k, v) in enumerate(o.items()):
                if not isinstance(k, str):
                    k = (number(k) if isinstance(k, float) else "true" if k is True else "false" if k is False
                         else "null" if k is None else int_repr(k) if isinstance(k, int) else _no_key(k))
                out.append(("," + inner if i else "") + string(k) + ": ")
                put(v, inner, out)
            out.append(pad + "}")
        else:
            raise _NotPlain

    def encode(value, pad: str = "\n") -> str:
        out: list[str] = []
        try:
            put(value, pad, out)
        except (_NotPlain, RecursionError):
            # a value JSON has no form for, or a cycle: the standard encoder's own error
            return standard(value).replace("\n", pad)
        return "".join(out)
    return encode


class _NotPlain(Exception):
    pass


def _no_key(k):
    raise _NotPlain


# -- flat rows for the DataFrames
def migration_row(a, m) -> dict:
    v = m.verdict
    c = m.dconn
    return {"id": m.id, "host": a.display_host(m.host), "role": m.role, "domain": m.domain, "uuid": m.uuid,
            "path": m.path, "line": m.started.line if m.started else None, "api": m.api,
            "mode": m.mode, "flags": ",".join(m.flag_names), "dconnuri": m.dconnuri,
            "migrate_uri": m.migrate_uri, "bandwidth": m.bandwidth, "start": m.start, "end": m.end,
            "outcome": m.outcome, "last_phase": m.last_phase, "errors": len(m.errors),
            "dconn_client": c.client if c else None, "dconn_conn": c.conn if c else None,
            "dconn_ka": c.ka if c else None, "peer": m.peer,
            "cause": v.cause if v else None, "confidence": v.confidence if v else None,
            "detected_by": v.detected_by if v else None, "summary": v.summary if v else None}


def connection_row(c) -> dict:
    return {"id": c.id, "host": c.host, "direction": c.direction, "purpose": c.purpose, "client": c.client,
            "sock": c.sock, "conn": c.conn, "ka": c.ka, "uri": c.uri, "local_addr": c.local_addr,
            "remote_addr": c.remote_addr,
            "created_path": c.created.path if c.created else None,
            "created_line": c.created.line if c.created else None,
            "created_time": c.created.time if c.created else None,
            "disposed_line": c.disposed.line if c.disposed else None,
            "closed_line": c.closed.line if c.closed else None,
            "closed_time": c.closed.time if c.closed else None,
            "close_reason": c.close_reason_name, "keepalive_interval": c.keepalive_interval,
            "keepalive_count": c.keepalive_count, "ticks": c.tick_count, "pings_sent": c.pings_sent,
            "pongs_received": c.pongs_received, "apis": ",".join(c.apis), "migration": c.migration,
            "peer": c.peer}


def death_row(d) -> dict:
    c = d.connection
    return {"host": d.host, "path": d.path, "line": d.line, "time": d.time, "tid": d.tid,
            "client": d.client, "ka": d.ka, "idle": d.idle, "owner": d.owner, "migration": d.migration,
            "direction": c.direction if c else None, "uri": c.uri if c else None,
            "created_line": c.created.line if c and c.created else None, "confidence": d.confidence}
