"""The signature of a webhook request (documented for receivers in docs/webhooks.md).

Like Stripe's: the header ``Webhook-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is
HMAC-SHA256, keyed with the endpoint's secret, of ``"<t>.<raw body>"``. The timestamp inside
the signed text lets a receiver refuse replays of an old request.
"""

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SIGNATURE_HEADER = "Webhook-Signature"
EVENT_ID_HEADER = "Webhook-Id"
EVENT_TYPE_HEADER = "Webhook-Event"
TIMESTAMP_HEADER = "Webhook-Timestamp"
ATTEMPT_HEADER = "Webhook-Attempt"


def new_secret() -> str:
    """A fresh signing secret: 32 random bytes, URL-safe, with a recognisable prefix."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` with the secret."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """Check a signature header as a receiver would (the snippet of docs/webhooks.md)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, parts.get("v1", ""))
