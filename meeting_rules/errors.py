"""Graph-style errors: every refusal the library makes, with the HTTP answer it deserves.

The tree::

    GraphError                      (status, code, message, target)
    ├── BadRequestError             400 BadRequest
    ├── UnauthorizedError           401 InvalidAuthenticationToken
    ├── ForbiddenError              403 Forbidden
    ├── NotFoundError               404 NotFound
    ├── MethodNotAllowedError       405 MethodNotAllowed
    ├── RequestTimeoutError         408 RequestTimeout
    ├── RequestTooLargeError        413 BadRequest (Graph's code for it)
    ├── UnprocessableEntityError    422 UnprocessableEntity
    ├── InternalServerError         500 InternalServerError
    └── RetryLaterError             (retry_after_seconds, written as Retry-After)
        ├── TooManyRequestsError    429 TooManyRequests
        └── ServiceUnavailableError 503 ServiceUnavailable

``target`` is the JSON path of the offending member (``participants.attendees[0].upn``) or ``None``
when the defect is not in one member. A ``RetryLaterError`` also says when to try again
(``retry_after_seconds``, written as ``Retry-After``). Every error pickles, so it can cross a
process boundary.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

__all__ = [
    "BadRequestError",
    "ForbiddenError",
    "GraphError",
    "InternalServerError",
    "MethodNotAllowedError",
    "NotFoundError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "RetryLaterError",
    "ServiceUnavailableError",
    "TooManyRequestsError",
    "UnauthorizedError",
    "UnprocessableEntityError",
]


_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def quoted(text: str, limit: int = 80) -> str:
    """``text`` fit to quote in a message: cut at ``limit`` characters, control characters, line
    separators and lone surrogates escaped as in JSON, so a message is clean, one-line UTF-8."""
    cut = text if len(text) <= limit else text[:limit] + "..."
    if (cut.isascii() and cut.isprintable()) or _UNSAFE.search(cut) is None:
        return cut
    return _UNSAFE.sub(lambda m: json.dumps(m.group())[1:-1], cut)


class GraphError(Exception):
    """A refusal as Graph would answer it: HTTP status, Graph error code, message, JSON path."""

    __slots__ = ("code", "message", "target")

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "InternalServerError"

    code: str
    message: str
    target: str | None

    def __init__(self, message: str, *, code: str | None = None, target: str | None = None):
        self.args = (message,)  # also when the message was given by keyword
        self.message = message
        self.code = code if code is not None else self.default_code
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.code, self.target))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, code={self.code!r}, target={self.target!r})"
        )

    def __str__(self) -> str:
        where = f" (target: {self.target})" if self.target else ""
        return f"{self.status} {self.code}: {self.message}{where}"


def _rebuild(cls: type[GraphError], message: str, code: str, target: str | None) -> GraphError:
    return cls(message, code=code, target=target)


class BadRequestError(GraphError):
    """400: the request body, a header or the route is malformed."""

    status = 400
    default_code = "BadRequest"


class UnauthorizedError(GraphError):
    """401: the bearer token is missing, malformed or unknown."""

    status = 401
    default_code = "InvalidAuthenticationToken"


class ForbiddenError(GraphError):
    """403: the caller is known but may not do this."""

    status = 403
    default_code = "Forbidden"


class NotFoundError(GraphError):
    """404: no such route or user."""

    status = 404
    default_code = "NotFound"


class MethodNotAllowedError(GraphError):
    """405: the route exists but not for this HTTP method."""

    status = 405
    default_code = "MethodNotAllowed"


class RequestTimeoutError(GraphError):
    """408: the request's body did not arrive in time (a server's limit, not a rule's)."""

    status = 408
    default_code = "RequestTimeout"


class RequestTooLargeError(GraphError):
    """413: the body is longer than the limit; it was not read. Graph answers this status with
    the code ``BadRequest`` ("The maximum request length supported is 4MB.")."""

    status = 413
    default_code = "BadRequest"


class UnprocessableEntityError(GraphError):
    """422: a get whose request differs from the stored meeting, in strict mode."""

    status = 422
    default_code = "UnprocessableEntity"


class InternalServerError(GraphError):
    """500: a fault of the service, such as a storage error."""

    status = 500
    default_code = "InternalServerError"


class RetryLaterError(GraphError):
    """A refusal the caller may retry: ``retry_after_seconds`` (an int, or ``None`` where the
    service does not say) is written as the ``Retry-After`` header."""

    __slots__ = ("retry_after_seconds",)

    retry_after_seconds: int | None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        target: str | None = None,
        retry_after_seconds: int | None = None,
    ):
        super().__init__(message, code=code, target=target)
        self.retry_after_seconds = retry_after_seconds

    def __reduce__(self) -> tuple[Any, ...]:
        retry = self.retry_after_seconds
        return (_rebuild_retry, (type(self), self.message, self.code, self.target, retry))


def _rebuild_retry(
    cls: type[RetryLaterError],
    message: str,
    code: str,
    target: str | None,
    retry_after_seconds: int | None,
) -> RetryLaterError:
    return cls(message, code=code, target=target, retry_after_seconds=retry_after_seconds)


class TooManyRequestsError(RetryLaterError):
    """429: the service is throttling the caller; retry after ``retry_after_seconds``."""

    status = 429
    default_code = "TooManyRequests"


class ServiceUnavailableError(RetryLaterError):
    """503: the store is busy or unreachable; the call may be retried, after
    ``retry_after_seconds`` where it is not ``None``."""

    status = 503
    default_code = "ServiceUnavailable"
