"""Cells of the CSV files loganalyzer writes, safe to open in a spreadsheet.

Log text is attacker-controlled (a domain name, a message, a file name), and a
spreadsheet reads a cell that starts with = + - @, a tab or a carriage return as
a formula (`=HYPERLINK("http://evil.example","x")`, `+1+cmd|'/C calc'!A0`).  As
OWASP recommends (CSV Injection), such a cell is written with a single quote in
front, which spreadsheets show as text.  Only CSV: parquet and JSON keep the raw
text.  Every text cell is also quoted, so that a carriage return inside one
cannot start a row (or a cell) of its own, which then starts like a formula.
Every CSV the tool writes goes through write_csv().
"""
from __future__ import annotations

import csv

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START_RE = r"^[=+\-@\t\r]"


def neutralise(text):
    """One cell: "'" + text when text starts like a formula; anything else as it is."""
    if isinstance(text, str) and text.startswith(FORMULA_START):
        return "'" + text
    return text


def csv_safe(df):
    """The frame with every text cell neutralised (text, object and categorical
    columns; numbers and times are left alone).  df itself is not changed."""
    import pandas as pd
    out = None
    for name in df.columns:
        col = df[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = list(col.cat.categories)
            new = [neutralise(c) for c in cats]
            if new == cats:
                continue
            if len(set(new)) == len(new):
                col = col.cat.rename_categories(new)
            else:   # "=x" and "'=x" both present: the values, not the categories
                col = col.astype(object).map(neutralise)
        elif col.dtype == object:       # (any Python values: one cell at a time)
            new = col.map(neutralise)
            if new.equals(col):
                continue
            col = new
        elif pd.api.types.is_string_dtype(col.dtype):
            hit = col.str.match(_FORMULA_START_RE).fillna(False).astype(bool)
            if not hit.any():
                continue
            col = col.where(~hit, "'" + col)
        else:
            continue
        if out is None:
            out = df.copy(deep=False)
        out[name] = col
    return df if out is None else out


def write_csv(df, target, **to_csv) -> None:
    """df.to_csv(target) with formulas neutralised and every text cell quoted."""
    csv_safe(df).to_csv(target, index=False, quoting=csv.QUOTE_NONNUMERIC, **to_csv)
