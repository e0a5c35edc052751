"""The rules of Microsoft Graph's ``onlineMeeting: createOrGet``, as pure, typed code.

Graph JSON lives in ``meeting_rules.graph_json`` (imported on first use, so that importing this
package stays cheap). ``__version__`` is the installed package's version, read on first use.
"""

from typing import Any as _Any

from .clocks import FixedClock, SteppingClock, SystemClock
from .enums import ApiVersion, LobbyBypassScope, OnlineMeetingPresenters, OnlineMeetingRole
from .errors import (
    BadRequestError,
    ForbiddenError,
    GraphError,
    InternalServerError,
    MethodNotAllowedError,
    NotFoundError,
    RequestTimeoutError,
    RequestTooLargeError,
    RetryLaterError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnauthorizedError,
    UnprocessableEntityError,
)
from .ids import RandomIdFactory, SeededIdFactory
from .instant import Instant
from .meeting import (
    AudioConferencing,
    ChatInfo,
    LobbyBypassSettings,
    MeetingKey,
    OnlineMeeting,
    Organizer,
)
from .participants import Identity, IdentitySet, MeetingParticipantInfo, MeetingParticipants
from .ports import Clock, IdFactory, MeetingRepository
from .request import CreateOrGetRequest
from .resolution import CreateOrGetOutcome, create_or_get
from .settings import TenantSettings
from .timing import MeetingWindow, expiry, normalise_window

__all__ = [
    "ApiVersion",
    "AudioConferencing",
    "BadRequestError",
    "ChatInfo",
    "Clock",
    "CreateOrGetOutcome",
    "CreateOrGetRequest",
    "FixedClock",
    "ForbiddenError",
    "GraphError",
    "IdFactory",
    "Identity",
    "IdentitySet",
    "Instant",
    "InternalServerError",
    "LobbyBypassScope",
    "LobbyBypassSettings",
    "MeetingKey",
    "MeetingParticipantInfo",
    "MeetingParticipants",
    "MeetingRepository",
    "MeetingWindow",
    "MethodNotAllowedError",
    "NotFoundError",
    "OnlineMeeting",
    "OnlineMeetingPresenters",
    "OnlineMeetingRole",
    "Organizer",
    "RandomIdFactory",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "RetryLaterError",
    "SeededIdFactory",
    "ServiceUnavailableError",
    "SteppingClock",
    "SystemClock",
    "TenantSettings",
    "TooManyRequestsError",
    "UnauthorizedError",
    "UnprocessableEntityError",
    "create_or_get",
    "expiry",
    "normalise_window",
]


def __getattr__(name: str) -> _Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("meeting_rules")
        except PackageNotFoundError:  # imported from a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
