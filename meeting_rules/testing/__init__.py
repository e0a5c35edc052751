"""The testing kit: Hypothesis strategies and a repository contract other projects run.

- ``meeting_rules.testing.strategies``: ``instants()``, ``instant_texts()``, ``request_bodies()``,
  ``invalid_request_bodies()``, ``requests()``, ``meetings()``, ``meeting_json()``, ...
- ``meeting_rules.testing.RepositoryContract``: subclass it, give it a ``repository`` fixture, and
  pytest proves your ``MeetingRepository`` keeps the port's promises;
  ``meeting_rules.testing.check_repository(make_repository)`` runs the same checks as a function.
- ``meeting_rules.testing.check_emulator(send, directory=...)``: drives any createOrGet
  implementation and judges every answer with ``meeting_rules.oracle.Oracle``; ``asgi_sender(app)``
  and ``http_sender(base_url)`` make ``send`` for an ASGI app and a running server.

Needs the ``testing`` extra (Hypothesis and pytest, nothing else): ``pip install
'meeting_rules[testing]'``, or ``pip install '.[testing]'`` from a clone. Without them, importing
the kit says so. ``import meeting_rules`` never imports this package; this package imports
Hypothesis and pytest only when a name is first used, so the pytest plugin stays cheap to load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .contract import RepositoryContract, check_repository
    from .emulator import check_emulator
    from .senders import asgi_sender, http_sender

__all__ = ["RepositoryContract", "asgi_sender", "check_emulator", "check_repository", "http_sender"]

INSTALL_HINT = (
    "pip install 'meeting_rules[testing]' (from a clone of the project: pip install '.[testing]')"
)


def kit_missing(error: ModuleNotFoundError) -> ModuleNotFoundError:
    """The error to raise when Hypothesis or pytest is not installed: what to install instead."""
    return ModuleNotFoundError(
        f"meeting_rules.testing needs {error.name}, which is not installed: {INSTALL_HINT}",
        name=error.name,
    )


def __getattr__(name: str) -> Any:
    if name in ("RepositoryContract", "check_repository"):
        from . import contract

        return getattr(contract, name)
    if name == "check_emulator":
        from .emulator import check_emulator

        return check_emulator
    if name in ("asgi_sender", "http_sender"):
        from . import senders

        return getattr(senders, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
