"""One error body for every API failure, shaped like TM Forum's Error resource.

    {"@type": "Error", "status": 400, "code": "INVALID", "reason": "Invalid input.",
     "message": "...", "fieldErrors": {"price": ["must be >= 0"]}}

A domain rule broken in a service (Django's ValidationError) is a 400 with its field errors,
never a 500; a protected delete is a 409.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

REASONS = {
    400: "Invalid input",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal error",
}


def _field_errors(detail) -> dict:
    """Flatten DRF's nested error detail into ``{"a.b[0].c": ["message"]}``."""
    flat: dict[str, list[str]] = {}

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, int):
                    walk(item, f"{path}[{key}]")
                else:
                    walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and value and not all(isinstance(item, str) for item in value):
            for index, item in enumerate(value):
                if item:
                    walk(item, f"{path}[{index}]")
        else:
            messages = value if isinstance(value, list) else [value]
            flat.setdefault(path or "non_field_errors", []).extend(str(m) for m in messages)

    walk(detail, "")
    return flat


def error_body(status_code: int, code: str, message: str, field_errors: dict | None = None):
    """Build the error body."""
    body = {
        "@type": "Error",
        "status": status_code,
        "code": code,
        "reason": REASONS.get(status_code, "Error"),
        "message": message,
    }
    if field_errors:
        body["fieldErrors"] = field_errors
    return body


def exception_handler(exc, context):
    """Turn any exception raised in an API view into the error body."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"non_field_errors": exc.messages})
    elif isinstance(exc, ProtectedError | RestrictedError):
        body = error_body(
            409, "PROTECTED", "This object is still referenced and cannot be deleted."
        )
        return Response(body, status=status.HTTP_409_CONFLICT)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        first = next(iter(fields.items()))
        message = f"{first[0]}: {first[1][0]}" if first[0] != "non_field_errors" else first[1][0]
        response.data = error_body(response.status_code, "INVALID", message, fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else "error"
        response.data = error_body(response.status_code, str(code).upper(), str(detail))
    return response


def json_error_response(status_code: int, message: str) -> JsonResponse:
    """Answer a failure outside DRF (404 of an unknown API path, a 500) with the error body."""
    code = {400: "BAD_REQUEST", 404: "NOT_FOUND", 500: "INTERNAL_ERROR", 403: "FORBIDDEN"}.get(
        status_code, "ERROR"
    )
    return JsonResponse(error_body(status_code, code, message), status=status_code)
