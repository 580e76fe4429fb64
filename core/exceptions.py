"""Domain errors and the one place where they become HTTP answers.

Services raise `DomainError` subclasses with a sentence a person understands, or Django's
`ValidationError` with sentences per field; views never catch them. `api_exception_handler`
turns them (and DRF's own errors) into JSON.
"""

import logging

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.mediatypes import media_type_matches
from rest_framework.views import exception_handler, set_rollback

from core.parsers import JSONTooDeep

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule said no. `status_code` is how the API reports it."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request could not be completed."

    def __init__(self, detail: str | None = None):
        self.detail = detail or self.default_detail
        super().__init__(self.detail)

    def headers(self) -> dict[str, str]:
        return {}


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    default_detail = "Not found."


class Conflict(DomainError):
    """The thing exists but is in a state that does not allow this change."""

    status_code = status.HTTP_409_CONFLICT


class Unprocessable(DomainError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


class ServiceUnavailable(DomainError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE

    def __init__(self, detail: str | None = None, retry_after: int | None = None):
        super().__init__(detail)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


# DRF's terse defaults, said the way a person would understand them.
_FRIENDLY = {
    "Authentication credentials were not provided.": (
        "Sign in first (API clients send 'Authorization: Token <key>')."
    ),
    "Invalid token.": "That token is not valid. Ask for a new one.",
}


# The database is down, restarting, out of connections or (SQLite) locked for too long:
# a passing condition, said as one, instead of a 500. The request's transaction is rolled
# back with the exception, so a retry is safe.
DATABASE_UNAVAILABLE = (
    "The service cannot reach its database right now. Please try again in a few seconds."
)
DATABASE_RETRY_AFTER_SECONDS = 5


# A uniqueness (or other integrity) rule of the database said no, typically to the loser
# of two requests that checked "not there yet" at the same moment. Services turn the
# cases they expect into their own sentence; this catches the rest.
DATABASE_CONFLICT = (
    "This conflicts with something that was just recorded (for example the same reference "
    "or e-mail sent twice at once). Nothing was changed; check and try again."
)


# What a body the view's parsers take looks like, per media type: (what to send, and what
# a body that claims the type but does not parse is told). A view's parser classes decide.
_BODIES = {
    "application/json": (
        "Send the body as JSON (Content-Type: application/json).",
        "The request body is not valid JSON.",
    ),
    "multipart/form-data": (
        "Send the body as multipart/form-data, with the file in a field named 'file'.",
        "The request body is not valid multipart/form-data. Send it as multipart/form-data, "
        "with the file in a field named 'file'.",
    ),
}


def _parsers(context) -> list:
    request = context.get("request")
    parsers = getattr(request, "parsers", None)
    if parsers is None:  # the request was not made a DRF one: the view's classes
        view = context.get("view")
        classes = getattr(view, "parser_classes", api_settings.DEFAULT_PARSER_CLASSES)
        parsers = [parser() for parser in classes]
    return list(parsers) or [parser() for parser in api_settings.DEFAULT_PARSER_CLASSES]


def _body(parser) -> tuple[str, str]:
    media_type = parser.media_type.split(";")[0].strip()
    return _BODIES.get(media_type) or (
        f"Send the body as {media_type}.",
        f"The request body is not valid {media_type}.",
    )


def _expected_body_sentence(context) -> str:
    """415: what the view takes, e.g. "Send the body as JSON (Content-Type: ...)."."""
    sentences = dict.fromkeys(_body(parser)[0] for parser in _parsers(context))
    return " Or: ".join(sentences)


def _malformed_body_sentence(context) -> str:
    """400: the body claims a type the view takes and does not parse as one; said by the
    parser of that type (the view's first parser if none matches)."""
    parsers = _parsers(context)
    content_type = getattr(context.get("request"), "content_type", "") or ""
    matching = [p for p in parsers if media_type_matches(p.media_type, content_type)]
    return _body((matching or parsers)[0])[1]


def _throttled(wait: int | None) -> exceptions.Throttled:
    """DRF's "Request was throttled. Expected available in N seconds." in a person's words;
    `wait` still becomes the Retry-After header."""
    if wait:
        unit = "second" if wait == 1 else "seconds"
        sentence = f"Too many tries in a short time. Try again in {wait} {unit}."
    else:
        sentence = "Too many tries in a short time. Try again later."
    throttled = exceptions.Throttled(detail=sentence)
    throttled.wait = wait
    return throttled


def api_exception_handler(exc, context):
    """Map domain errors and framework errors to `{"detail": "..."}` answers."""
    if isinstance(exc, DomainError):
        return Response({"detail": exc.detail}, status=exc.status_code, headers=exc.headers())
    if isinstance(exc, IntegrityError):
        logger.warning("Integrity error answered as 409: %s", exc)
        set_rollback()
        return Response({"detail": DATABASE_CONFLICT}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, OperationalError | InterfaceError):
        logger.error("Database unavailable: %s", exc, exc_info=exc)
        set_rollback()
        return Response(
            {"detail": DATABASE_UNAVAILABLE},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "The request body is too large."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DjangoValidationError):
        # A service's (or a model's) field errors: {field: [sentences]}, as a serializer's.
        if not hasattr(exc, "error_dict"):
            return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_400_BAD_REQUEST)
        errors = exc.message_dict
        if NON_FIELD_ERRORS in errors:
            errors[api_settings.NON_FIELD_ERRORS_KEY] = errors.pop(NON_FIELD_ERRORS)
        exc = exceptions.ValidationError(errors)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, exceptions.ParseError) and not isinstance(exc, JSONTooDeep):
        exc = exceptions.ParseError(_malformed_body_sentence(context))
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        exc = exceptions.UnsupportedMediaType(exc.detail, _expected_body_sentence(context))
    elif isinstance(exc, exceptions.Throttled):
        exc = _throttled(exc.wait)
    if isinstance(getattr(exc, "detail", None), str) and exc.detail in _FRIENDLY:
        exc.detail = _FRIENDLY[exc.detail]
    return exception_handler(exc, context)
