"""``python -m benchmarks``: run every workload and print the table."""

from benchmarks.bench_core import main

if __name__ == "__main__":  # spawned worker processes import this module too
    raise SystemExit(main())
