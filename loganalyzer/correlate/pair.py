"""Two hosts: pair the source's view of a migration with the destination's,
and estimate the clock offset between the hosts from the paired calls."""
from __future__ import annotations

import statistics

# The destination's Prepare arrives while the source's job runs: a destination view
# pairs with a source view only when it starts within that window, give or take this
# much clock difference between the hosts (NTP-synchronised hosts differ by far less).
TOLERANCE = 30.0


def pair_migrations(hosts) -> list[dict]:
    """Link migrations of the same domain seen by different hosts.

    hosts: list of HostCorrelator-like objects (with .host and .migrations).
    Returns one dict per host pair with the estimated clock offset
    (destination minus source, seconds) and the samples it came from.
    """
    pairs = []
    sources = [(h, m) for h in hosts for m in h.migrations if m.role == "source"]
    dests = [(h, m) for h in hosts for m in h.migrations if m.role == "destination"]
    clients = [(h, m) for h in hosts for m in h.migrations if m.role == "client"]
    offsets: dict[tuple, list] = {}
    for hs, s, hd, d in _match(sources, dests):
        s.peer, d.peer = d.id, s.id
        samples = offsets.setdefault((hs.host, hd.host), [])
        # the dconn and the destination's server client are created in the same instant
        peer_conn = d.controlling_conn if d.controlling_conn is not None and \
            d.controlling_conn.created is not None else None
        if s.dconn is not None and s.dconn.created is not None and peer_conn is not None \
                and s.dconn.created.time is not None and peer_conn.created.time is not None:
            samples.append(("connection opened", peer_conn.created.time - s.dconn.created.time))
            s.dconn.notes.append(f"seen on {hd.host} as incoming client {peer_conn.client} "
                                 f"({peer_conn.created.path}:{peer_conn.created.line})")
            peer_conn.notes.append(f"this is {hs.host}'s destination connection {s.dconn.client}")
            s.dconn.peer = peer_conn.id
            peer_conn.peer = s.dconn.id
        if s.dconn_open is not None and d.started is not None and s.dconn_open.time is not None:
            # Prepare arrives after the source opened the connection: an upper bound, kept
            # only when no connection pair exists
            if not samples:
                samples.append(("prepare after open", d.start - s.dconn_open.time))
    for hc, c in clients:
        for hs, s in sources:
            if hs is hc or s.peer_client:
                continue
            if _same_domain(c, s) and c.start is not None and s.start is not None \
                    and abs(s.start - c.start) < TOLERANCE:
                s.peer_client, c.peer = c.id, s.id
                break
    for (a, b), samples in offsets.items():
        vals = [v for _, v in samples]
        pairs.append({"source_host": a, "destination_host": b,
                      "clock_offset": statistics.median(vals) if vals else None,
                      "samples": [{"what": w, "offset": v} for w, v in samples]})
    _pair_deaths(hosts)
    return pairs


def _match(sources, dests) -> list:
    """(source host, source view, destination host, destination view) of the same migrations.

    Every candidate pair is scored by how far the destination's start lies outside the source
    job's window (0 inside it), then by the distance between the starts; the best pairs are
    taken first, so a retry's Prepare pairs with the retry, not with the attempt before it.
    A peer-to-peer source that never opened its connection to the destination (refused before
    Prepare) pairs with nothing."""
    cands = []
    for i, (hs, s) in enumerate(sources):
        if s.start is None or (s.p2p and s.dconn is None and s.dconn_open is None):
            continue
        end = s.end if s.end is not None else float("inf")
        for j, (hd, d) in enumerate(dests):
            if hd is hs or d.start is None or not _same_domain(s, d):
                continue
            if not (s.start - TOLERANCE <= d.start <= end + TOLERANCE):
                continue
            outside = max(s.start - d.start, d.start - end, 0.0)
            cands.append((outside, abs(d.start - s.start), i, j))
    taken_s, taken_d, out = set(), set(), []
    for _, _, i, j in sorted(cands):
        if i in taken_s or j in taken_d:
            continue
        taken_s.add(i)
        taken_d.add(j)
        out.append((i, j))
    return [(*sources[i], *dests[j]) for i, j in sorted(out)]


def _same_domain(a, b) -> bool:
    if a.uuid and b.uuid:
        return a.uuid == b.uuid
    return bool(a.domain) and a.domain == b.domain


def _pair_deaths(hosts):
    """Each side's view of the same connection's death (who declared whom dead)."""
    by_conn = {}
    for h in hosts:
        for c in h.connections:
            by_conn[c.id] = c
    for h in hosts:
        for d in h.deaths:
            c = d.connection
            if c is None or not getattr(c, "peer", None):
                continue
            other = by_conn.get(c.peer)
            if other is None:
                continue
            for h2 in hosts:
                for d2 in h2.deaths:
                    if d2.connection is other:
                        d.peer_death = d2
            d.peer_connection = other
