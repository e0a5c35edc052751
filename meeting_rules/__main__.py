"""``python -m meeting_rules``: the ``meeting-rules`` command."""

from .cli import main

raise SystemExit(main())
