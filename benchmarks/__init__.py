"""Benchmarks of the rules core, the stores, the HTTP exchange and the command's cold start, and
the stores' sizes: ``python -m benchmarks`` (see docs/performance.md).

Every figure is a ratio to a floor (``json``, or bare ``sqlite3`` for the SQLite store) measured in
the same run, so runs on a shared, noisy machine stay comparable. Never run by pytest; nothing
here asserts a timing.
"""
