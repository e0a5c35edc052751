"""Hypothesis's entry point (group ``hypothesis``): once the package is installed,
``st.from_type(Instant)``, ``st.from_type(CreateOrGetRequest)`` and ``st.from_type(OnlineMeeting)``
draw from the kit's strategies. Hypothesis calls the hook when it is imported; the kit itself is
imported only when one of these types is first drawn."""

from __future__ import annotations

from typing import Any

__all__ = ["_hypothesis_setup_hook"]


def _hypothesis_setup_hook() -> None:
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
