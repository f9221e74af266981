"""Which records the correlator reads, as one pattern on the first line of a file-form
record: the prefilter's test (prefilter.py), made from the record header (header.py) and
the handlers' own declarations (build.READING), so that it reads what feeding every record
would.

The fast route (prefilter.py) finds these lines in Arrow's RE2, a block of text at a time,
and never builds the other records; the pattern therefore sticks to syntax both engines
read the same way: no lookaround, no backreferences, [0-9] rather than \\d (which is
Unicode-wide in Python).
"""
from __future__ import annotations

import re

from ..header import LEVEL_READ, LEVEL_SEP, LINE_HEAD
from .build import READING

# Besides what the correlator reads, the fast route needs the function-less header lines
# (the log's libvirt version and host name, for the input's facts).
HEADER_LINES = LEVEL_READ + LEVEL_SEP + "(?:libvirt version: |hostname: )"

INTEREST_PATTERN = LINE_HEAD + "(?:" + READING.file_pattern() + "|" + HEADER_LINES + ")"

# A line that is not a record start but shows an error (virsh's own "error: ..." after
# its progress output, a report's decorated copy of an error record): the reader
# glues it to the record before it, and the error catalogue reads it.
FOREIGN_ERROR = r"^(?:[^0-9\n][^\n]*)?(?:error|warning) ?: "
INTEREST_PATTERN = "(?:" + INTEREST_PATTERN + ")|" + FOREIGN_ERROR

INTEREST = re.compile(INTEREST_PATTERN)
FOREIGN_ERROR_RE = re.compile(FOREIGN_ERROR)
