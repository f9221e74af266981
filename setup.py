"""The compiled parts: loganalyzer._fieldscan (journald's fields in one pass) and
loganalyzer._headscan (file-format record headers in one pass) and loganalyzer._tablescan (the
event table's key=value columns), see their sources.
Everything else is in pyproject.toml.  optional: without a C compiler the package still
installs, and wrapfilter.py and prefilter.py read by their Arrow and NumPy routes alone."""
from setuptools import Extension, setup

setup(ext_modules=[Extension(f"loganalyzer.{name}", [f"loganalyzer/{name}.c"], optional=True,
                             depends=["loganalyzer/_texthash.h"],
                             extra_compile_args=["-O2"]) for name in ("_fieldscan", "_headscan", "_tablescan")])
