"""Arrow arrays built from their buffers, from Python lists and NumPy arrays.

pyarrow.array() imports pandas (about 35 MB) the first time it is called, to check whether
it was handed a pandas object.  The event table's route to Parquet is Arrow from end to end,
so its columns are made here, from the buffers Arrow would have made itself.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa


def _validity(valid: np.ndarray | None):
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
    bitmap, nulls = _validity(valid)
    return pa.Array.from_buffers(type, n, [bitmap, data], null_count=nulls)


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
    bitmap, nulls = _validity(valid)
    if offsets[-1] < 2 ** 31:
        return pa.Array.from_buffers(pa.string(), n, [bitmap, pa.py_buffer(offsets.astype(np.int32)),
                                                      pa.py_buffer(data)], null_count=nulls)
    large = pa.Array.from_buffers(pa.large_string(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)],
                                  null_count=nulls)
    return large.cast(pa.string())


def scalar(value, type: pa.DataType) -> pa.Scalar:
    """An Arrow scalar (None: null) for compute functions, which would make one with
    pyarrow.scalar() from a Python value (and import pandas)."""
    if value is None:
        return pa.nulls(1, type)[0]
    dtype = bool if pa.types.is_boolean(type) else np.int64
    return from_numpy(np.array([value], dtype=dtype), type)[0]
