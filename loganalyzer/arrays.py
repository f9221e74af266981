"""Arrow arrays built from their buffers, from Python lists and NumPy arrays.

pyarrow.array() imports pandas (about 35 MB) the first time it is called, to check whether
it was handed a pandas object.  The event table's route to Parquet is Arrow from end to end,
so its columns are made here, from the buffers Arrow would have made itself.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from .compiled import gather


class _Compute:
    """pyarrow.compute, imported when a function of it is first called: its import (50-80 ms:
    a wrapper for each of Arrow's kernels) is most of the event table's start-up beyond
    Arrow's own, and the table's compiled route calls none of them (nor Array.take, filter or
    dictionary_encode, which import it)."""

    def __getattr__(self, name):
        import pyarrow.compute
        return getattr(pyarrow.compute, name)


compute = _Compute()


def validity(valid: np.ndarray | None):
    """(bitmap buffer or None, null count) of a boolean mask of the valid values."""
    if valid is None:
        return None, 0
    nulls = int(len(valid) - np.count_nonzero(valid))
    if nulls == 0:
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), nulls


def from_numpy(values: np.ndarray, type: pa.DataType, valid: np.ndarray | None = None) -> pa.Array:
    """A fixed-width NumPy array (its dtype the width of `type`; bool for pa.bool_()) as Arrow."""
    n = len(values)
    if pa.types.is_boolean(type):
        data = pa.py_buffer(np.packbits(np.asarray(values, dtype=bool), bitorder="little"))
    else:
        data = pa.py_buffer(np.ascontiguousarray(values))
    bitmap, nulls = validity(valid)
    return pa.Array.from_buffers(type, n, [bitmap, data], null_count=nulls)


def taken(arr: pa.Array, at: np.ndarray) -> pa.Array:
    """arr.take(at) of a string or binary array (int32 offsets): by the compiled gather where
    the package was built with a compiler, without importing pyarrow.compute."""
    if gather is None:
        return arr.take(int64s(at))
    n = len(arr)
    bitmap, offsets, data = arr.buffers()
    off = np.frombuffer(offsets, np.int32, n + 1, arr.offset * 4)
    if arr.null_count:
        valid = np.unpackbits(np.frombuffer(bitmap, np.uint8), count=arr.offset + n, bitorder="little")[arr.offset:]
    else:
        valid = np.ones(n, np.uint8)
    (got,) = gather(np.ascontiguousarray(at, np.int64), [(off, data if data is not None else b"", valid, n)])
    return gathered(arr.type, len(at), got)


def gathered(type: pa.DataType, n: int, got) -> pa.Array:
    """The Arrow array of n values of one column of the compiled gather's answer: (int32
    offsets, data, validity bitmap or None, nulls), or None where every value is null."""
    if got is None:
        return pa.nulls(n, type)
    off, data, bits, nulls = got
    return pa.Array.from_buffers(type, n, [None if bits is None else pa.py_buffer(bits),
                                           pa.py_buffer(off), pa.py_buffer(data)], null_count=nulls)


def int64s(values) -> pa.Array:
    """A NumPy array (or sequence) of integers, positions for a take say, as an Arrow int64 array."""
    return from_numpy(np.ascontiguousarray(values, np.int64), pa.int64())


def ints(values) -> pa.Array:
    """A list of ints (None for null) as an Arrow int64 array."""
    n = len(values)
    if None in values:
        valid = np.fromiter((v is not None for v in values), dtype=bool, count=n)
        data = np.fromiter((0 if v is None else v for v in values), dtype=np.int64, count=n)
        return from_numpy(data, pa.int64(), valid)
    return from_numpy(np.fromiter(values, dtype=np.int64, count=n), pa.int64())


def strings(values, ascii: bool = False) -> pa.Array:
    """A list of str (None for null) as an Arrow string array.  ascii=True: the caller knows
    every value is ASCII (one byte a character), which saves encoding them one by one."""
    n = len(values)
    valid = None
    if None in values:
        if values.count(None) == n:
            return pa.nulls(n, pa.string())
        valid = np.fromiter((v is not None for v in values), dtype=bool, count=n)
        values = ["" if v is None else v for v in values]
    if ascii:
        data = "".join(values).encode("ascii")
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=n)
    else:
        encoded = [v.encode() for v in values]
        data = b"".join(encoded)
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    bitmap, nulls = validity(valid)
    if offsets[-1] < 2 ** 31:
        return pa.Array.from_buffers(pa.string(), n, [bitmap, pa.py_buffer(offsets.astype(np.int32)),
                                                      pa.py_buffer(data)], null_count=nulls)
    large = pa.Array.from_buffers(pa.large_string(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)],
                                  null_count=nulls)
    return large.cast(pa.string())


def binaries(values) -> pa.Array:
    """A list of bytes as an Arrow large binary array."""
    n = len(values)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=n), out=offsets[1:])
    return pa.Array.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(values))])


def scalar(value, type: pa.DataType) -> pa.Scalar:
    """An Arrow scalar (None: null) for compute functions, which would make one with
    pyarrow.scalar() from a Python value (and import pandas)."""
    if value is None:
        return pa.nulls(1, type)[0]
    dtype = bool if pa.types.is_boolean(type) else np.int64
    return from_numpy(np.array([value], dtype=dtype), type)[0]


class GrowingStrings:
    """A string column that grows by appended arrays and reads as one Arrow array, so that a
    take from it is one take: a ChunkedArray's take concatenates its chunks on every call.
    Its buffers grow by doubling; what was handed out is never written again."""

    def __init__(self, nbytes: int = 1 << 16, n: int = 1 << 12):
        self.n = 0
        self._data = np.empty(nbytes, np.uint8)
        self._offsets = np.zeros(n + 1, np.int32)
        self._valid = np.zeros(n, bool)
        self._array = None

    def taken(self, at: np.ndarray) -> "GrowingStrings":
        """A new column of the values at `at` (int64), with room for as much as this one holds."""
        out = GrowingStrings(len(self._data), len(self._valid))
        out.extend(taken(self.array(), at))
        return out

    def extend(self, arr: pa.StringArray) -> None:
        k = len(arr)
        if not k:
            return
        off = np.frombuffer(arr.buffers()[1], np.int32, count=k + 1, offset=arr.offset * 4)
        lo, hi = int(off[0]), int(off[-1])
        n, used = self.n, int(self._offsets[self.n])
        if used + hi - lo >= 2 ** 31:
            raise OverflowError("a string column of 2 GiB")
        if used + hi - lo > len(self._data):
            self._data = grown(self._data, used, used + hi - lo)
        if n + k >= len(self._valid):
            self._offsets = grown(self._offsets, n + 1, n + k + 1)
            self._valid = grown(self._valid, n, n + k)
        if hi > lo:
            self._data[used:used + hi - lo] = np.frombuffer(arr.buffers()[2], np.uint8, count=hi - lo, offset=lo)
        self._offsets[n + 1:n + k + 1] = off[1:] + (used - lo)
        if arr.null_count:
            self._valid[n:n + k] = np.unpackbits(np.frombuffer(arr.buffers()[0], np.uint8), bitorder="little",
                                                 count=arr.offset + k)[arr.offset:].astype(bool)
        else:
            self._valid[n:n + k] = True
        self.n += k
        self._array = None

    def buffers(self) -> tuple:
        """(int32 offsets, data, one validity byte a value, values): views of what it holds,
        for a compiled gather (read them before the next extend)."""
        n = self.n
        return self._offsets[:n + 1], self._data, self._valid[:n].view(np.uint8), n

    def valid(self) -> np.ndarray:
        """Which values are not null (a view: read it before the next extend)."""
        return self._valid[:self.n]

    def array(self) -> pa.StringArray:
        if self._array is None:
            n = self.n
            bitmap, nulls = validity(self._valid[:n])
            self._array = pa.StringArray.from_buffers(
                n, pa.py_buffer(self._offsets[:n + 1]), pa.py_buffer(self._data[:int(self._offsets[n])]),
                bitmap, nulls)
        return self._array


def grown(a: np.ndarray, keep: int, need: int) -> np.ndarray:
    """A larger copy of a's first `keep` items, room for at least `need` (doubling)."""
    out = np.zeros(max(need, 2 * len(a)), a.dtype)
    out[:keep] = a[:keep]
    return out
