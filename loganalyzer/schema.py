"""What every machine output carries: the version of its layout (schema_version, raised when a
field changes meaning or goes away), the loganalyzer version that wrote it, and times that are
exact to the millisecond.  The JSON Schema of `analyze --format json` ships in schemas/."""
from __future__ import annotations

import json
from pathlib import Path

SCHEMA_VERSION = "1.0"
SCHEMAS = Path(__file__).resolve().parent / "schemas"


def versions() -> dict:
    from . import __version__
    return {"schema_version": SCHEMA_VERSION, "loganalyzer_version": __version__}


def load_schema(name: str = "analysis") -> dict:
    """A JSON Schema shipped with the package: analysis, event, scan-row."""
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))


def utc_ms(values):
    """Epoch seconds (floats) -> pandas UTC datetimes, rounded to the millisecond the log wrote
    (20:29:53.724, not the float's 20:29:53.723999977)."""
    import pandas as pd
    index = getattr(values, "index", None)
    s = pd.Series(values, dtype="float64", index=index)
    return pd.to_datetime((s * 1000).round(), unit="ms", utc=True).astype("datetime64[ns, UTC]")


def stamp_frame(df, time_cols=()):
    """df.attrs: the versions, and each time column's epoch seconds (rounded to the millisecond)."""
    df.attrs.update(versions())
    df.attrs["epoch"] = {c: [round(float(x), 3) if x == x and x is not None else None for x in df[c]]
                         for c in time_cols if c in df}
    return df
