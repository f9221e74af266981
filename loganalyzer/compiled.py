"""The compiled parts, built by setup.py when the package is installed (optional): each name
is None where it was installed without a C compiler, and its callers take their Arrow and
NumPy routes instead (the same answers, slower)."""
try:
    from ._headscan import headers, rows    # file-format record headers (prefilter), event table (blockrows)
    from ._headscan import heads            # the header fields of the records analyze reads (prefilter)
except ImportError:
    headers = rows = heads = None
try:
    from ._fieldscan import entries as field_entries, scan as field_scan     # journald (fieldscan)
except ImportError:
    field_scan = field_entries = None
try:
    from ._tablescan import MessageIndex, easy, gather   # the event table's key=value columns, known messages
    from ._tablescan import fields as read_fields   # a message's family (families.located)
    from ._tablescan import records as build_records    # the Records analyze reads (prefilter)
except ImportError:
    easy = MessageIndex = gather = read_fields = build_records = None
