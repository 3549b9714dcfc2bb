"""One shape for every API error, so clients handle them in one place:

    {"error": {"status": 400, "code": "invalid", "message": "…",
               "fields": {"email": [{"code": "invalid", "message": "Enter a valid …"}]}}}

`code` is machine-readable and stable; `message` is for people. Headers DRF sets (such as
Retry-After on 429 and WWW-Authenticate on 401) are kept.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_409_CONFLICT: "conflict",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "too_large",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
}


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request body is larger than this server accepts."


class Conflict(exceptions.APIException):
    """409: not possible with the data as it stands. Keyword arguments (such as the object's
    `current_status`) are added to the error body, so a client can tell what stood in the way."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "This conflicts with the current state of the data."

    def __init__(self, detail: Any = None, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail, code)
        self.extra = extra


def _field_errors(detail: Any) -> dict[str, Any]:
    """DRF's nested ErrorDetail structure as {field: [{code, message}]} (nested for objects)."""
    out: dict[str, Any] = {}
    for field, errors in detail.items():
        if isinstance(errors, dict):
            out[field] = _field_errors(errors)
        elif isinstance(errors, list) and errors and isinstance(errors[0], dict):
            out[field] = [_field_errors(item) for item in errors]
        else:
            items = errors if isinstance(errors, list) else [errors]
            out[field] = [{"code": getattr(e, "code", "invalid"), "message": str(e)} for e in items]
    return out


def _plain_message(detail: dict[str, Any]) -> str:
    """Words for people from a dict of details: its `detail`, else each field's messages."""
    if "detail" in detail:
        return str(detail["detail"])
    parts = []
    for field, errors in detail.items():
        items = errors if isinstance(errors, list) else [errors]
        words = (_plain_message(e) if isinstance(e, dict) else str(e) for e in items)
        parts.append(f"{field}: " + " ".join(words))
    return "; ".join(parts)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, RequestDataTooBig):  # past DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = TooLarge()
    elif isinstance(exc, DjangoValidationError):
        # Services validate with Django's ValidationError; to an API caller that is a 400.
        if hasattr(exc, "error_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"non_field_errors": exc.messages})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    error: dict[str, Any] = {
        "status": response.status_code,
        "code": CODES.get(response.status_code, "error"),
    }
    detail = getattr(exc, "detail", None)
    if isinstance(detail, dict) and response.status_code == status.HTTP_400_BAD_REQUEST:
        error["message"] = "Some fields are not valid."
        error["fields"] = _field_errors(detail)
    elif isinstance(detail, list):
        error["message"] = " ".join(str(d) for d in detail)
        error["code"] = getattr(detail[0], "code", error["code"]) if detail else error["code"]
    elif isinstance(detail, dict):
        # simplejwt's InvalidToken: {"detail": …, "code": …, "messages": [{…}]}. str() of the
        # dict would show Python's repr (ErrorDetail(string=…)) to the client.
        error["message"] = _plain_message(detail)
        if detail.get("code"):
            error["code"] = str(detail["code"])
    else:
        error["message"] = str(detail) if detail is not None else str(exc)
        code = getattr(detail, "code", None)
        if code and code not in ("error", "invalid"):
            error["code"] = code
    wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
    if wait is not None:
        error["retry_after"] = int(wait + 0.999)
    if isinstance(exc, Conflict):
        error.update(exc.extra)
    response.data = {"error": error}
    return response
