"""The outbox: events for the outside world, written with the change they report, sent to
webhook endpoints after commit, signed, retried until delivered or failed.

Other apps use two functions:

- ``register_event_types({"invoice.issued": "An invoice was issued.", ...})``, once at start
  (in their AppConfig.ready()), so that the console and the API can offer the types;
- ``publish(event_type=..., payload=..., brand=..., subject=...)`` inside the transaction of
  the business change: the event and its deliveries commit with the change or not at all.

See docs/webhooks.md for what an endpoint receives and how it checks the signature.
"""

from core.outbox.registry import event_types, register_event_types
from core.outbox.services import publish, publish_many

__all__ = ["event_types", "publish", "publish_many", "register_event_types"]
