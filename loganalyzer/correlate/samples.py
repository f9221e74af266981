"""A migration's query-migrate samples, packed.

A busy day keeps a few hundred thousand of them (every reply while a migration runs, up to
qemu.MAX_STATS each).  As tuples of Python numbers each took ~450 bytes; here a sample is one
row of eight-byte numbers in a bytearray (its layout: which fields are int, float or None) and
its status, ~110 bytes.  Reading gives back the very same StatsSample (ints stay ints, floats
floats, None None): the answers do not depend on how they are kept.
"""
from __future__ import annotations

import struct
import sys
from array import array
from operator import itemgetter
from typing import NamedTuple


class StatsSample(NamedTuple):
    """One query-migrate reply of a migration (None: not in the reply, or unreadable)."""
    time: float | None
    line: int
    status: str | None
    total_time_ms: float | None
    expected_downtime_ms: float | None
    transferred: float | None
    remaining: float | None
    total: float | None
    mbps: float | None
    dirty_pages_rate: float | None
    page_size: float | None
    dirty_sync_count: float | None
    cpu_throttle: float | None


_STATUS = StatsSample._fields.index("status")
_NUMBERS = tuple(i for i in range(len(StatsSample._fields)) if i != _STATUS)   # packed, in this order
_ROW = 8 * len(_NUMBERS)
_KIND = {int: 1, float: 2, type(None): 0}     # 2 bits a number field (the same in every process)
_CODE = {0: "8x", 1: "q", 2: "d"}             # None fields are pad bytes


class _Layout(NamedTuple):
    """How one combination of int/float/None fields is packed."""
    mask: int               # the fields' kinds, 2 bits each
    packer: struct.Struct
    present: object         # the packed values of a sample (StatsSample -> tuple)
    absent: tuple           # positions (among _NUMBERS) that are None


_BY_TYPES: dict = {}
_BY_MASK: dict = {}


def _getter(positions: tuple):
    if len(positions) == 1:
        get = itemgetter(positions[0])
        return lambda values: (get(values),)
    return itemgetter(*positions) if positions else (lambda values: ())


def _layout_of_types(types: tuple) -> _Layout:
    """The layout of a sample whose fields have these types (the status's is not packed)."""
    layout = _BY_TYPES.get(types)
    if layout is None:
        mask = 0
        for i, field in enumerate(_NUMBERS):
            mask |= _KIND[types[field]] << (2 * i)
        layout = _BY_TYPES[types] = _layout_of_mask(mask)
    return layout


def _layout_of_mask(mask: int) -> _Layout:
    layout = _BY_MASK.get(mask)
    if layout is None:
        kinds = [(mask >> (2 * i)) & 3 for i in range(len(_NUMBERS))]
        present = tuple(_NUMBERS[i] for i, k in enumerate(kinds) if k)
        layout = _BY_MASK[mask] = _Layout(mask, struct.Struct("<" + "".join(_CODE[k] for k in kinds)),
                                          _getter(present), tuple(i for i, k in enumerate(kinds) if not k))
    return layout


class StatsSeries:
    """The samples of one migration in order: append, len, index (negative too), slices,
    iteration and `del series[a:b:c]` (thinning), each item a StatsSample."""

    __slots__ = ("_rows", "_masks", "_status", "_last")

    def __init__(self, samples=()):
        self._rows = bytearray()
        self._masks = array("L")
        self._status: list = []
        self._last: StatsSample | None = None
        for s in samples:
            self.append(s)

    def append(self, sample: StatsSample) -> None:
        layout = _layout_of_types(tuple(map(type, sample)))
        self._rows += layout.packer.pack(*layout.present(sample))
        self._masks.append(layout.mask)
        status = sample.status
        self._status.append(sys.intern(status) if type(status) is str else status)
        self._last = sample

    def __len__(self) -> int:
        return len(self._masks)

    def _get(self, i: int) -> StatsSample:
        layout = _layout_of_mask(self._masks[i])
        values = layout.packer.unpack_from(self._rows, i * _ROW)
        if layout.absent:
            values = list(values)
            for k in layout.absent:
                values.insert(k, None)
        return StatsSample(values[0], values[1], self._status[i], *values[2:])

    def __getitem__(self, index):
        n = len(self._masks)
        if isinstance(index, slice):
            return [self._get(i) for i in range(*index.indices(n))]
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("sample index out of range")
        if index == n - 1 and self._last is not None:
            return self._last
        return self._get(index)

    def __iter__(self):
        for i in range(len(self._masks)):
            yield self._get(i)

    def __delitem__(self, index) -> None:
        n = len(self._masks)
        gone = set(range(*index.indices(n))) if isinstance(index, slice) else {index % n if n else index}
        keep = [i for i in range(n) if i not in gone]
        rows = self._rows
        self._rows = bytearray(b"".join(rows[i * _ROW:(i + 1) * _ROW] for i in keep))
        self._masks = array("L", [self._masks[i] for i in keep])
        self._status = [self._status[i] for i in keep]
        self._last = None if (n - 1) in gone else self._last

    def __eq__(self, other) -> bool:
        if isinstance(other, StatsSeries):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"StatsSeries({len(self)} samples)"
