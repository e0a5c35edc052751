"""Hypothesis's entry point (group ``hypothesis``): once the package is installed,
``st.from_type(Instant)``, ``st.from_type(CreateOrGetRequest)`` and ``st.from_type(OnlineMeeting)``
draw from the kit's strategies.

Hypothesis calls the hook whenever it is imported, in every project of an environment that has
this package: loading it imports ``meeting_rules`` (its value objects and attrs, a few tens of
milliseconds), and the kit itself only when one of these types is first drawn. A failure here
must not break ``import hypothesis`` for everyone else, so it is reported as a warning.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["_hypothesis_setup_hook"]


def _hypothesis_setup_hook() -> None:
    try:
        from hypothesis import strategies as st

        from ..instant import Instant
        from ..meeting import OnlineMeeting
        from ..request import CreateOrGetRequest

        def kit() -> Any:
            from . import strategies

            return strategies

        st.register_type_strategy(Instant, lambda _: kit().instants())
        st.register_type_strategy(CreateOrGetRequest, lambda _: kit().requests())
        st.register_type_strategy(OnlineMeeting, lambda _: kit().meetings())
    except Exception as error:  # pragma: no cover (a broken installation)
        warnings.warn(
            f"meeting_rules could not register its types with Hypothesis: {error!r}",
            stacklevel=2,
        )
