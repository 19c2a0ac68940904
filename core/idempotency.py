"""The Idempotency-Key header for money-moving POSTs.

A client that may retry (a payment gateway, a top-up channel) sends ``Idempotency-Key: <key>``.
The same key always gets the first request's answer:

- The first request with a key *claims* it before its view runs: it inserts the key's row at the
  start of the transaction that holds the business change, and stores its response in that row
  before the transaction commits. The row, the money and the answer commit together or not at
  all.
- The key is unique per user (a database constraint). A concurrent request with the same key
  therefore blocks on the claim's uncommitted row inside the database (the unique index makes
  it wait for the first transaction's end) and then either replays the committed answer or, if
  the first request failed and rolled back, claims the key itself. It never runs beside it.
- A request that waits longer than ``IDEMPOTENCY_WAIT_SECONDS`` for the first one is answered
  409 ``IDEMPOTENCY_IN_PROGRESS`` with ``Retry-After``: never a different outcome.
- A repeat with the same key and the same request gets the stored response again (header
  ``Idempotent-Replayed: true``) and changes nothing; the same key with another body, path or
  method is refused with 409 ``IDEMPOTENCY_KEY_REUSED``. The request's fingerprint covers the
  *content* of uploaded files (SHA-256 of their bytes), not just their names.
- A request that fails with an exception (a refused input, a broken rule) or a 5xx stores
  nothing, so it can be corrected and sent again with the same key.
"""

import functools
import hashlib
import json

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, OperationalError, connection, transaction
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from core.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# PostgreSQL's SQLSTATE for a lock wait that ran past lock_timeout.
LOCK_NOT_AVAILABLE = "55P03"


class IdempotencyConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "IDEMPOTENCY_KEY_REUSED"
    default_detail = "This Idempotency-Key was used before with a different request."


class IdempotencyInProgress(APIException):
    """A request with the same key is still running: send this one again later."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "IDEMPOTENCY_IN_PROGRESS"
    default_detail = (
        "A request with this Idempotency-Key is still in progress; send it again after "
        "Retry-After seconds to get its answer."
    )
    wait = 1  # seconds: DRF's exception handler sends it as Retry-After


def _canonical(value):
    """A JSON-able form of request data; an uploaded file stands for its name, size and bytes."""
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)  # the view reads the file again from its start
        return {"file": value.name, "size": value.size, "sha256": digest.hexdigest()}
    if hasattr(value, "lists"):  # a QueryDict: every value of every field
        return {key: [_canonical(item) for item in items] for key, items in value.lists()}
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def request_fingerprint(request) -> str:
    """Hash the method, path and body of a request, uploaded files by their content."""
    try:
        body = json.dumps(_canonical(request.data), sort_keys=True, default=str)
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
        with transaction.atomic():
            claim = _claim(request, key, fingerprint)
            if claim is None:
                # The first request with this key committed while this one waited.
                existing = _stored(request.user, key)
                if existing is None:  # it committed and was purged in between: not worth it
                    raise IdempotencyInProgress()
                return _replay(existing, fingerprint)
            response = view_method(self, request, *args, **kwargs)
            if response.status_code >= 500:
                transaction.set_rollback(True)  # store nothing: the client may retry
                return response
            claim.response_status = response.status_code
            claim.response_body = _json_safe(response.data)
            claim.save(update_fields=["response_status", "response_body"])
        return response

    return wrapper


def _claim(request, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Insert the key's row in the current transaction; None when another request holds it.

    The unique constraint makes a second insert of the same key wait until the first
    transaction ends: after a commit it fails (None: replay), after a rollback it succeeds.
    The wait is bounded by PostgreSQL's lock_timeout, restored afterwards so that the view's
    own locks wait as usual.
    """
    previous = _set_lock_timeout(f"{int(settings.IDEMPOTENCY_WAIT_SECONDS * 1000)}ms")
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                user=request.user,
                key=key,
                method=request.method,
                path=request.path[:500],
                request_hash=fingerprint,
            )
    except IntegrityError:
        return None
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise IdempotencyInProgress() from error
        raise
    finally:
        if previous is not None:
            _set_lock_timeout(previous)


def _set_lock_timeout(value: str) -> str | None:
    """Set lock_timeout for the current transaction; return the value it had (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        previous = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [value])
        return previous


def _stored(user, key: str) -> IdempotencyKey | None:
    return IdempotencyKey.objects.filter(user=user, key=key).first()


def _replay(stored: IdempotencyKey, fingerprint: str) -> Response:
    if stored.request_hash != fingerprint:
        raise IdempotencyConflict()
    if stored.response_status is None:  # only ever seen uncommitted; defensive
        raise IdempotencyInProgress()
    return Response(
        stored.response_body,
        status=stored.response_status,
        headers={"Idempotent-Replayed": "true"},
    )


def _json_safe(data):
    return json.loads(json.dumps(data, default=str))
