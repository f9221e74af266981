"""loganalyzer: libvirtd debug logs -> events -> linked objects -> root-cause verdicts.

The public calls (each also a CLI command):

    read_events(path)          records of one log, lazily
    events_frame(paths)        every record as a pandas DataFrame
"""
from .reader import FileFacts, LogReader, read_events
from .records import Foreign, Record
from .frame import events_frame
from .sources import InputError

__all__ = ["read_events", "events_frame", "LogReader", "FileFacts", "Record", "Foreign", "InputError"]
__version__ = "0.1.0"
