"""loganalyzer: libvirtd debug logs -> events -> linked objects -> root-cause verdicts.

The public calls (each also a CLI command, under the same name):

    read_events(path)          records of one log, lazily
    events_frame(paths)        every record as a pandas DataFrame (`df.libvirt` helpers)
    analyze(paths)             migrations, connections, keepalive deaths, verdicts
    scan(paths)                every migration and death in archives, one table

Names are imported on first use, so `loganalyzer analyze` does not pay for
pandas when it does not need it.
"""
import importlib

__version__ = "0.1.0"

# name -> module that defines it
_LAZY = {
    "read_events": "reader", "LogReader": "reader", "FileFacts": "reader",
    "Record": "records", "Foreign": "records", "InputError": "sources",
    "events_frame": "frame",
    "analyze": "analysis", "Analysis": "analysis",
    "scan": "fleet", "ScanResult": "fleet",
    # notebook calls (issue 7); importing explore registers the `df.libvirt` accessor
    "events": "explore", "thread_lines": "explore", "pointer_life": "explore",
    "pointer_lifetimes": "explore", "window": "explore", "migration_records": "explore",
    "evidence_records": "explore", "kinds": "explore", "verdicts": "explore",
    "evidence": "explore", "render_report": "explore", "timeline": "explore",
}
# modules whose names are used with pandas: register the accessor with them
_WITH_ACCESSOR = {"frame", "explore"}

__all__ = sorted(_LAZY)


def __getattr__(name):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'loganalyzer' has no attribute {name!r}")
    module = importlib.import_module(f".{mod}", __name__)
    if mod in _WITH_ACCESSOR:
        importlib.import_module(".explore", __name__)
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
