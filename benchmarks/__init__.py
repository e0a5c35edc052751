"""Benchmarks of the rules core: ``python -m benchmarks`` (see docs/performance.md).

Every figure is a ratio to a floor (``json.loads``/``json.dumps``) measured in the same run, so runs
on a shared, noisy machine stay comparable. Never run by pytest; nothing here asserts a timing.
"""
