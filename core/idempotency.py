"""The Idempotency-Key header for money-moving POSTs.

A client that may retry (a payment gateway, a top-up channel) sends ``Idempotency-Key: <key>``.
The first request with a key runs and its response is stored in the same transaction as the
business change; a repeat with the same key and the same body gets the stored response again
(header ``Idempotent-Replayed: true``) and changes nothing; the same key with another body, path
or method is refused with 409. A request that fails with an exception stores nothing, so it can
be retried. Uniqueness is a database constraint: of two concurrent requests with one key, the
second waits for the first and then replays it.
"""

import functools
import hashlib
import json

from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from core.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotencyConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "IDEMPOTENCY_KEY_REUSED"
    default_detail = "This Idempotency-Key was used before with a different request."


def request_fingerprint(request) -> str:
    """Hash the method, path and body of a request."""
    try:
        body = json.dumps(request.data, sort_keys=True, default=str)
    except (TypeError, ValueError):
        body = repr(request.data)
    raw = f"{request.method}\n{request.path}\n{body}"
    return hashlib.sha256(raw.encode()).hexdigest()


def idempotent(view_method):
    """Decorate a DRF view's ``post`` so that an Idempotency-Key makes retries safe."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if not key:
            return view_method(self, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise ValidationError({HEADER: [f"must be 1 to {MAX_KEY_LENGTH} printable characters"]})
        fingerprint = request_fingerprint(request)
        existing = _stored(request.user, key)
        if existing is not None:
            return _replay(existing, fingerprint)
        try:
            with transaction.atomic():
                response = view_method(self, request, *args, **kwargs)
                if response.status_code >= 500:
                    return response
                IdempotencyKey.objects.create(
                    user=request.user,
                    key=key,
                    method=request.method,
                    path=request.path[:500],
                    request_hash=fingerprint,
                    response_status=response.status_code,
                    response_body=_json_safe(response.data),
                )
        except IntegrityError:
            # A concurrent request with the same key committed first: replay it.
            existing = _stored(request.user, key)
            if existing is None:
                raise
            return _replay(existing, fingerprint)
        return response

    return wrapper


def _stored(user, key: str) -> IdempotencyKey | None:
    return IdempotencyKey.objects.filter(user=user, key=key).first()


def _replay(stored: IdempotencyKey, fingerprint: str) -> Response:
    if stored.request_hash != fingerprint:
        raise IdempotencyConflict()
    return Response(
        stored.response_body,
        status=stored.response_status,
        headers={"Idempotent-Replayed": "true"},
    )


def _json_safe(data):
    return json.loads(json.dumps(data, default=str))
