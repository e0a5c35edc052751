"""The rules of Microsoft Graph's ``onlineMeeting: createOrGet``, as pure, typed code.

Graph JSON lives in ``meeting_rules.graph_json`` (imported on first use, so that importing this
package stays cheap).
"""

from .enums import ApiVersion, LobbyBypassScope, OnlineMeetingPresenters, OnlineMeetingRole
from .errors import (
    BadRequestError,
    ForbiddenError,
    GraphError,
    InternalServerError,
    MethodNotAllowedError,
    NotFoundError,
    ServiceUnavailableError,
    UnauthorizedError,
    UnprocessableEntityError,
)
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
from .request import CreateOrGetRequest
from .timing import MeetingWindow, expiry, normalise_window

__all__ = [
    "ApiVersion",
    "AudioConferencing",
    "BadRequestError",
    "ChatInfo",
    "CreateOrGetRequest",
    "ForbiddenError",
    "GraphError",
    "Identity",
    "IdentitySet",
    "Instant",
    "InternalServerError",
    "LobbyBypassScope",
    "LobbyBypassSettings",
    "MeetingKey",
    "MeetingParticipantInfo",
    "MeetingParticipants",
    "MeetingWindow",
    "MethodNotAllowedError",
    "NotFoundError",
    "OnlineMeeting",
    "OnlineMeetingPresenters",
    "OnlineMeetingRole",
    "Organizer",
    "ServiceUnavailableError",
    "UnauthorizedError",
    "UnprocessableEntityError",
    "expiry",
    "normalise_window",
]
