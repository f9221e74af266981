"""The compiled part: loganalyzer._fieldscan (journald's fields in one pass, see its source).
Everything else is in pyproject.toml.  optional: without a C compiler the package still
installs, and wrapfilter.py reads journald's forms by its Arrow route alone."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("loganalyzer._fieldscan", ["loganalyzer/_fieldscan.c"], optional=True,
                             extra_compile_args=["-O2"])])
