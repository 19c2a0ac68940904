"""Shared records: the Idempotency-Key store."""

from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """The first response to a money-moving POST, replayed for a repeat of the same request.

    The key is unique per user: a database constraint, not a check-then-insert. The first
    request inserts the row before its view runs (core.idempotency), so a concurrent request
    with the same key waits on it and then replays the committed answer.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    # Empty only inside the claiming transaction: the row commits with its response.
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.key} ({self.method} {self.path})"
