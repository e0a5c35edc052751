"""``InMemoryDirectory``: a ``TokenDirectory`` whose callers and users are registered in advance.

Pure data (two dicts): the core's own directory, for tests, the command and a service that knows
its callers ahead; ``meeting_rules.http`` exports it as before.
"""

from __future__ import annotations

from .meeting import Organizer, object_id
from .ports import Application, DelegatedUser

__all__ = ["InMemoryDirectory"]


class InMemoryDirectory:
    """A ``TokenDirectory`` held in dicts, filled by ``add_*``. A user is found by its tenant's
    and its own ID in any case where they are GUIDs (``meeting.object_id``).

    Each lookup and registration is a single dict operation, atomic in CPython, so the directory
    may be shared by threads.
    """

    def __init__(self) -> None:
        self._callers: dict[str, DelegatedUser | Application] = {}
        self._users: dict[tuple[str, str], Organizer] = {}

    def add_user(self, *, tenant_id: str, user_id: str, upn: str | None = None) -> Organizer:
        """Make ``user_id`` a user of the tenant (a delegated user is one already)."""
        user = Organizer(tenant_id=tenant_id, user_id=user_id, upn=upn)
        self._users[object_id(tenant_id), user_id.lower()] = user
        return user

    def add_delegated_user(
        self,
        *,
        token: str,
        tenant_id: str,
        user_id: str,
        upn: str | None,
        scopes: frozenset[str] | set[str] | list[str] | tuple[str, ...],
        personal: bool = False,
    ) -> DelegatedUser:
        """Register a signed-in user's token (R-AUTH-1, R-AUTH-2)."""
        caller = DelegatedUser(
            tenant_id=tenant_id,
            user_id=user_id,
            upn=upn,
            scopes=frozenset(scopes),
            personal=personal,
        )
        self.add_user(tenant_id=tenant_id, user_id=user_id, upn=upn)
        self._callers[token] = caller
        return caller

    def add_application(
        self,
        *,
        token: str,
        tenant_id: str,
        app_id: str,
        roles: frozenset[str] | set[str] | list[str] | tuple[str, ...],
        policy_users: frozenset[str] | set[str] | list[str] | tuple[str, ...],
    ) -> Application:
        """Register an application's token; ``policy_users`` hold its access policy (R-AUTH-3)."""
        caller = Application(
            tenant_id=tenant_id,
            app_id=app_id,
            roles=frozenset(roles),
            policy_users=frozenset(u.lower() for u in policy_users),
        )
        self._callers[token] = caller
        return caller

    def callers(self) -> dict[str, DelegatedUser | Application]:
        """Every registered token and the caller it stands for (a copy)."""
        return dict(self._callers)

    def users(self) -> tuple[Organizer, ...]:
        """Every known user of every tenant, in the order they were made known."""
        return tuple(self._users.values())

    def caller(self, token: str) -> DelegatedUser | Application | None:
        return self._callers.get(token)

    def user(self, tenant_id: str, user_id: str) -> Organizer | None:
        return self._users.get((object_id(tenant_id), user_id.lower()))
