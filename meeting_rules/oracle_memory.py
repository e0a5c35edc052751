"""What the oracle remembers of the keys it has seen (``Memory``): each key's first meeting, the
keys whose state is unknown, the keys of refused exchanges, and which key a meeting's id names.

It grows with the number of distinct keys, never with the number of exchanges: two digests a key,
and the whole first answer only for the latest keys, within a count and a size (``KEPT_BODIES``,
``KEPT_BYTES``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .enums import ApiVersion
from .oracle_answers import Key
from .oracle_later import may_be_lowered, meeting_digests

__all__ = ["KEPT_BODIES", "KEPT_BYTES", "Known", "Memory"]

KEPT_BODIES, KEPT_BYTES = 10_000, 64 * 1024 * 1024
"""How many keys' first answers are kept whole, and how many bytes of them at most, to say which
member a later answer changed; of older keys, a digest says whether it changed (memory stays
bounded on long recordings, whatever the answers' size)."""


@attrs.frozen
class Known:
    """A key's first meeting: digests of its answer (``meeting_digests``), its version, and the
    exchange that gave it."""

    digests: tuple[bytes, bytes]
    lowered: tuple[bytes, bytes]  # of the answer as written without Prefer (R-JSON-3)
    version: ApiVersion
    include: bool  # its caller sent Prefer: include-unknown-enum-members
    exchange: int
    made: bool  # by a 201 judged here (not first seen in a 200: made before the traffic)


class Memory:
    """The keys' state, as the exchanges judged so far leave it."""

    def __init__(self) -> None:
        self.known: dict[Key, Known] = {}
        self.failed: dict[Key, int] = {}  # keys of refused exchanges, with the first's index
        self._bodies: dict[Key, bytes] = {}  # the first answers of the latest keys, whole
        self._kept = 0  # their bytes
        self._unsure: set[Key] = set()  # an answer may have stored a meeting not seen here
        # without the callers: (the path's user or None for /me, externalId) of unsure answers
        self._unsure_ids: set[tuple[str | None, str]] = set()
        self._all_unsure = False  # an exchange of unknown request may have stored anything
        self._organizers: dict[str, set[str]] = {}  # of each externalId's known, unsure keys
        self._meetings: dict[str, Key] = {}  # a first meeting's id: its key

    def remember(
        self,
        key: Key,
        raw: bytes,
        body: Mapping[str, Any],
        version: ApiVersion,
        include: bool,
        index: int,
        *,
        made: bool,
    ) -> None:
        """``body`` (``raw`` as sent) is the first meeting of ``key``."""
        digests = meeting_digests(body)
        # the digests as written without Prefer differ only where an evolvable value is written
        lowered = meeting_digests(body, lowered=True) if may_be_lowered(raw) else digests
        self.known[key] = Known(digests, lowered, version, include, index, made)
        self._organizers.setdefault(key[2], set()).add(key[1])
        meeting_id = body.get("id")
        if isinstance(meeting_id, str):
            self._meetings[meeting_id] = key
        self._kept -= len(self._bodies.pop(key, b""))
        self._bodies[key], self._kept = raw, self._kept + len(raw)
        while len(self._bodies) > KEPT_BODIES or self._kept > KEPT_BYTES:
            self._kept -= len(self._bodies.pop(next(iter(self._bodies))))

    def body(self, key: Key) -> bytes | None:
        """The first answer of ``key`` as sent, if it is still kept whole."""
        return self._bodies.get(key)

    def forget(self, key: Key, *, unsure: bool) -> None:
        """``key``'s meeting was changed or deleted by an exchange not judged: its first meeting
        no longer holds; ``unsure``: a meeting may be stored for it (changed, or not known)."""
        self.known.pop(key, None)
        self._kept -= len(self._bodies.pop(key, b""))
        if unsure:
            self.add_unsure(key)

    def key_of_meeting(self, meeting_id: str) -> Key | None:
        """The key whose first meeting has this id."""
        return self._meetings.get(meeting_id)

    def add_unsure(self, key: Key) -> None:
        """A meeting may be stored for ``key`` that no answer judged here showed."""
        self._unsure.add(key)
        self._organizers.setdefault(key[2], set()).add(key[1])

    def settle(self, key: Key) -> bool:
        """An answer with ``key``'s meeting: whether the key was unsure until now."""
        unsure = self.is_unsure(key)
        self._unsure.discard(key)
        return unsure

    def mark_unsure(self, external_id: str, user_id: str | None) -> None:
        """Without the callers, a throttled or failed answer to a valid request names no
        organizer: every key of its externalId is unsure from then on (of the path's user on
        ``/users/{id}``; on ``/me``, of any organizer, the token's user being unknown)."""
        self._unsure_ids.add((user_id.lower() if user_id is not None else None, external_id))

    def mark_all_unsure(self) -> None:
        """An exchange whose request is unknown (an unreadable entry) may have stored a meeting
        for any key: every key is unsure from then on."""
        self._all_unsure = True

    def may_be_stored(self, external_id: str, user_id: str | None) -> bool:
        """Without the callers, whether a key of this externalId (of the path's user on
        ``/users/{id}``) may be stored: an error answer names no organizer to say which."""
        user = user_id.lower() if user_id is not None else None
        marks = self._unsure_ids
        if self._all_unsure or (user, external_id) in marks or (None, external_id) in marks:
            return True
        organizers = self._organizers.get(external_id, ())
        return bool(organizers) if user is None else user in organizers

    def is_unsure(self, key: Key) -> bool:
        return (
            self._all_unsure
            or key in self._unsure
            or bool(
                self._unsure_ids
                and ((key[1], key[2]) in self._unsure_ids or (None, key[2]) in self._unsure_ids)
            )
        )
