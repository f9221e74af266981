"""Numbers and time stamps read from log text: each either fits or is None.

A log can hold anything: a year 0000, month 13, February 30, hour 99, a thread
id of 70 bits, `idle=` of 400 digits, a JSON `thread` of Infinity, a negative
`__REALTIME_TIMESTAMP`.  Every route (the fast path, the grammar, the Arrow
rows, the prefilter, the JSON forms) reads its numbers and time stamps here,
so that a value which is not a real date or does not fit becomes None where it
is read: the record is kept and counted (FileFacts.bad_values) instead of an
exception far away, in Arrow, NumPy, datetime or a report.
"""
from __future__ import annotations

import datetime as _dt
import functools
import json
import math

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
# The instants Python's datetime (and with it every report) can show:
# 0001-01-01 00:00:00 up to, not including, 10000-01-01 (UTC epoch seconds).
EPOCH_MIN = -62135596800.0
EPOCH_MAX = 253402300800.0
_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
# no int64 is written with more characters than this (sign, 0x, leading zeros aside)
_MAX_INT_CHARS = 40


def to_int(v, base: int = 10) -> int | None:
    """An integer given as text (base 10, or 0 for Python's 0x/0o/0b prefixes), as
    a JSON number or as a whole float, when it fits in 64 bits; else None."""
    if v.__class__ is str and base == 10 and len(v) < 19 and v.isdigit() and v.isascii():
        return int(v)           # (the usual value: fewer than 19 digits always fit)
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        n = v
    elif isinstance(v, float):
        if not math.isfinite(v) or v != int(v):
            return None
        n = int(v)
    elif isinstance(v, str):
        if len(v) > _MAX_INT_CHARS:
            return None
        try:
            n = int(v, base)
        except ValueError:
            return None
    else:
        return None
    return n if INT64_MIN <= n <= INT64_MAX else None


def epoch(t) -> float | None:
    """Epoch seconds that a report can show (year 1 to 9999), else None."""
    if t is None or not (EPOCH_MIN <= t < EPOCH_MAX):   # (NaN fails the test too)
        return None
    return float(t)


@functools.lru_cache(maxsize=4096)
def _midnight(date: str) -> int | None:
    """'2026-11-25' -> epoch seconds of its midnight (UTC); None when not a date."""
    try:
        d = _dt.date(int(date[0:4]), int(date[5:7]), int(date[8:10]))
    except ValueError:
        return None
    return (d.toordinal() - _EPOCH_ORDINAL) * 86400


def civil_epoch(y: int, mon: int, day: int, h: int, mi: int, s: float) -> float | None:
    """Epoch seconds of a UTC calendar date and time of day; None unless it is one."""
    try:
        d = _dt.date(y, mon, day)
    except (ValueError, TypeError, OverflowError):
        return None
    if not (0 <= h < 24 and 0 <= mi < 60 and 0 <= s < 60):
        return None
    return (d.toordinal() - _EPOCH_ORDINAL) * 86400 + h * 3600 + mi * 60 + s


def stamp_to_epoch(stamp: str) -> float | None:
    """libvirt's '2026-11-25 20:29:53.724+0000' (trailing ': ' allowed) -> epoch
    seconds; None when it is not a real date and time (month 13, Feb 30, hour 99,
    year 0000, an offset of 99 hours)."""
    if len(stamp) < 28 or stamp[4] != "-":
        return None
    day = _midnight(stamp[:10])
    if day is None:
        return None
    try:
        h, mi, s, ms = int(stamp[11:13]), int(stamp[14:16]), int(stamp[17:19]), int(stamp[20:23])
        off = stamp[23:28]
        oh, om = (0, 0) if off == "+0000" else (int(off[1:3]), int(off[3:5]))
    except ValueError:
        return None
    if h > 23 or mi > 59 or s > 59 or oh > 23 or om > 59:
        return None
    secs = day + h * 3600 + mi * 60 + s + ms / 1000.0
    if oh or om:
        secs -= (1 if off[0] == "+" else -1) * (oh * 3600 + om * 60)
    return epoch(secs)


def header_values(stamp: str | None, tid: str | None, time: float | None = None):
    """(time, tid, bad) of a record header: its dated stamp and its thread id's
    digits (each None when the header has none); time: the stamp's seconds when
    the caller has them already.  bad names the value that could not be read."""
    bad = None
    if stamp is not None:
        if time is None:
            time = stamp_to_epoch(stamp)
        if time is None:
            bad = not_a_date(stamp)
    if tid is not None:
        n = int(tid) if len(tid) < 19 else to_int(tid)    # (digits: fewer than 19 always fit)
        if n is None:
            bad = bad or too_large("thread id", tid)
        tid = n
    return time, tid, bad


def usec_epoch(v) -> float | None:
    """journald's __REALTIME_TIMESTAMP (microseconds since the epoch, unsigned, as
    text) -> epoch seconds; None when it is not such a number or no date."""
    n = to_int(v)
    return None if n is None or n < 0 else epoch(n / 1e6)


def unreadable(name: str, v) -> str:
    """What a bad value's warning says: the field and the start of its text."""
    text = v if isinstance(v, str) else json.dumps(v) if isinstance(v, (int, float)) else type(v).__name__
    return f"{name} {text[:24]!r}{'...' if len(text) > 24 else ''} cannot be read"


class JsonFields:
    """Read the fields of one JSON record (journald, KubeVirt): a field that is
    present but cannot be read is None, and `bad` names the first such field."""

    __slots__ = ("obj", "bad")

    def __init__(self, obj: dict):
        self.obj = obj
        self.bad = None

    def get(self, key: str, read):
        """read(value) -> the value, or None when it cannot be read; absent or '' -> None."""
        v = self.obj.get(key)
        if v is None or v == "":
            return None
        out = read(v)
        if out is None and self.bad is None:
            self.bad = unreadable(key, v)
        return out


def not_a_date(stamp: str) -> str:
    return f"time stamp {stamp[:28]!r} is not a real date and time"


def too_large(what: str, text) -> str:
    text = str(text)
    return f"{what} {text[:24]}{'...' if len(text) > 24 else ''} does not fit in 64 bits"


def byte_rows(b, at, width: int):
    """The width bytes of b (a NumPy uint8 array) at each position of at, a row each: gathered
    as rows of a sliding window, not through an index array of every byte (a third of the
    time).  Every row must lie within b."""
    import numpy as np
    return np.lib.stride_tricks.sliding_window_view(b, width)[at]


def stamp_numbers(rows):
    """stamp_times' arguments, read from dated stamps ('2026-11-25 20:29:53.724+0000'): rows
    is a NumPy uint8 array, a row of bytes per stamp from its first (a row that is no such
    stamp gives numbers that stamp_times finds unreal, or junk that the caller masks)."""
    import numpy as np

    def col(k):
        return rows[:, k].astype(np.int32) - 48

    def num(*ks):
        v = col(ks[0])
        for k in ks[1:]:
            v = v * 10 + col(k)
        return v
    return (num(0, 1, 2, 3).astype(np.int64), num(5, 6), num(8, 9), num(11, 12), num(14, 15), num(17, 18),
            num(20, 21, 22), rows[:, 23] == 43, num(24, 25), num(26, 27))


def stamp_times(y, mon, day, h, mi, s, ms, east, oh, om):
    """The rule of stamp_to_epoch on NumPy int arrays of the stamps' numbers (east:
    the offset's sign is '+'), for the prefilter's route -> (epoch seconds, mask
    of the stamps that are real dates and times; the others' seconds are junk)."""
    import numpy as np     # here: only the vectorised routes need NumPy, not every command
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    mdays = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(mon, 0, 12)]
    mdays = mdays + ((mon == 2) & leap)
    ok = (y >= 1) & (mon >= 1) & (mon <= 12) & (day >= 1) & (day <= mdays)
    ok &= (h < 24) & (mi < 60) & (s < 60) & (oh < 24) & (om < 60)
    secs = _days_from_civil(y, mon, day) * 86400 + h * 3600 + mi * 60 + s
    secs = secs - np.where(east, 1, -1) * (oh * 3600 + om * 60)
    t = secs.astype(np.float64) + ms / 1000.0
    ok &= (t >= EPOCH_MIN) & (t < EPOCH_MAX)
    return t, ok


def _days_from_civil(y, m, d):
    """Days since 1970-01-01 of proleptic Gregorian dates (NumPy int arrays)."""
    y = y - (m <= 2)
    era = y // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def json_object(text: str):
    """The object of one JSON line, or None: not JSON, not an object, or nested
    too deep for the parser (RecursionError)."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def json_number(v):
    """A JSON number that fits: an int of 64 bits or a finite float; else None
    (a string, a list, true, 1e400, a 400-digit integer)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v if INT64_MIN <= v <= INT64_MAX else None
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    return None
