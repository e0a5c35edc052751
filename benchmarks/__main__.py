"""``python -m benchmarks``: run every workload and print the table."""

from benchmarks.bench_core import main

raise SystemExit(main())
