"""Charging sessions, their reservations (the holds of R20-R21) and the requests answered.

Money and units are held by append-only movements of the subscribers' ledgers: a reservation
writes a RESERVATION movement (negative) per balance and bucket it holds, and closing it writes
the RELEASE of the whole hold and the CHARGE (or bucket USAGE) of what was committed. So the sum
of a ledger is always what is free for other sessions (R21), and for every closed reservation
granted = committed + released.
"""

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.urls import reverse

from catalog.models import HostNetwork, Service
from core.money import RATED_PLACES
from subscribers.models import AMOUNT_DIGITS, BillingAccount, Subscription


class SessionStatus(models.TextChoices):
    ACTIVE = "active", "active"
    TERMINATED = "terminated", "terminated"
    EXPIRED = "expired", "expired (R22)"
    RELEASED = "released", "force-released"
    REFUSED = "refused", "refused"
    REFUNDED = "refunded", "refunded"


class Refusal(models.TextChoices):
    """Why a request was refused; each maps to a protocol result code."""

    CREDIT_LIMIT_REACHED = "CREDIT_LIMIT_REACHED", "credit limit reached"
    BARRED = "BARRED", "subscription barred"
    UNKNOWN_SUBSCRIBER = "UNKNOWN_SUBSCRIBER", "unknown subscriber"
    INACTIVE_SUBSCRIPTION = "INACTIVE_SUBSCRIPTION", "subscription not active"
    NO_RATE = "NO_RATE", "no rate"
    UNKNOWN_SESSION = "UNKNOWN_SESSION", "unknown session"
    SESSION_EXPIRED = "SESSION_EXPIRED", "session expired (R22)"
    SESSION_CLOSED = "SESSION_CLOSED", "session closed"
    NOT_REFUNDABLE = "NOT_REFUNDABLE", "not refundable"


class ChargingSession(models.Model):
    """One online charging session of a host network (a call, a data session, an SMS)."""

    reference = models.CharField(max_length=40, unique=True, help_text="our chargingDataRef")
    host_network = models.ForeignKey(HostNetwork, on_delete=models.PROTECT, related_name="+")
    session_id = models.CharField(max_length=128, help_text="the network's session id")
    charging_id = models.CharField(
        max_length=64, blank=True, help_text="matches the usage file record (R23)"
    )
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    billing_account = models.ForeignKey(
        BillingAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    msisdn = models.CharField(max_length=15, blank=True)
    imsi = models.CharField(max_length=15, blank=True)
    service = models.CharField(max_length=10, choices=Service.choices)
    other_party = models.CharField(max_length=32, blank=True)
    visited_plmn = models.CharField(max_length=6, blank=True)
    apn = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=SessionStatus.choices)
    refusal = models.CharField(max_length=24, choices=Refusal.choices, blank=True)
    started_at = models.DateTimeField()
    last_request_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    last_request_number = models.PositiveIntegerField(default=0)
    granted_units = models.PositiveBigIntegerField(
        default=0, help_text="units the session may use in all (used included)"
    )
    used_units = models.PositiveBigIntegerField(default=0)
    usage_event = models.ForeignKey(
        "charging.UsageEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_constraint=False,
    )  # fmt: skip
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["host_network", "session_id"], name="charging_session_once"
            ),
            models.CheckConstraint(
                condition=Q(used_units__lte=F("granted_units")), name="session_used_within_grant"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="charging_session_expiry"),
            models.Index(fields=["host_network", "charging_id"], name="charging_session_cid"),
            models.Index(fields=["subscription", "started_at"], name="charging_session_sub"),
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.msisdn or self.imsi} {self.reference[:8]}"

    def get_absolute_url(self) -> str:
        return reverse("charging:chargingsession-detail", args=[self.pk])


class ReservationStatus(models.TextChoices):
    HELD = "held", "held"
    COMMITTED = "committed", "committed"
    RELEASED = "released", "released"


class Reservation(models.Model):
    """A hold on a balance and buckets for a session's units (R20, R21).

    A session has at most one held reservation: it covers the session's whole usage so far
    plus the units granted next, priced as one event by the rating engine (increments once,
    R12, R23). Each update closes the held one (released) and holds anew.
    """

    session = models.ForeignKey(
        ChargingSession, on_delete=models.PROTECT, related_name="reservations"
    )
    request_number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=ReservationStatus.choices)
    units = models.PositiveBigIntegerField(help_text="units held, the session's used included")
    covered_units = models.PositiveBigIntegerField(default=0)
    draws = models.JSONField(default=list, help_text="[[bucket id, units held], …]")
    currency = models.CharField(max_length=3, blank=True)
    amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES)
    committed_units = models.PositiveBigIntegerField(default=0)
    committed_amount = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0
    )
    released_amount = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=RATED_PLACES, default=0
    )
    created_at = models.DateTimeField()
    valid_until = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(status="held"),
                name="one_held_reservation_per_session",
            ),
            models.CheckConstraint(
                condition=Q(status="held")
                | Q(amount=Round(F("committed_amount") + F("released_amount"), RATED_PLACES)),
                name="reservation_granted_is_committed_plus_released",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="reservation_amount_ok"),
        ]
        indexes = [models.Index(fields=["status", "valid_until"], name="reservation_expiry")]

    def __str__(self) -> str:
        return f"{self.session.reference}#{self.request_number} {self.status}"

    @property
    def ledger_reference(self) -> str:
        return f"online:{self.pk}"


class RequestType(models.TextChoices):
    INITIAL = "initial", "initial"
    UPDATE = "update", "update"
    TERMINATE = "terminate", "terminate"
    EVENT = "event", "event"
    REFUND = "refund", "refund"


class ChargingRequest(models.Model):
    """A request answered: a repeated one returns this answer and changes nothing (R20)."""

    session = models.ForeignKey(ChargingSession, on_delete=models.CASCADE, related_name="requests")
    request_number = models.PositiveIntegerField()
    request_type = models.CharField(max_length=10, choices=RequestType.choices)
    answer = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["session", "request_number"]
        constraints = [
            # R20: the idempotency of the network protocol is this key, not a check.
            models.UniqueConstraint(
                fields=["session", "request_number"], name="charging_request_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.request_type} #{self.request_number}"


class ChargingClient(models.Model):
    """A host network's credential for the online charging front doors (a token, hashed)."""

    host_network = models.ForeignKey(HostNetwork, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["host_network", "name"]

    def __str__(self) -> str:
        return f"{self.host_network} {self.name}"


class NotificationKind(models.TextChoices):
    ALLOWANCE_80 = "allowance_80", "80 % of an allowance used"
    ALLOWANCE_100 = "allowance_100", "an allowance used up"
    FAIR_USE_CAP = "fair_use_cap", "fair-use cap reached (R13)"
    LOW_BALANCE = "low_balance", "low balance"


class ChargingNotification(models.Model):
    """A threshold crossed, told once (per bucket, policy period or billing period).

    The UNIQUE (account, kind, key) makes it once: a second crossing in the same period is
    refused by the database, and only the first is published to the outbox (webhooks).
    """

    billing_account = models.ForeignKey(BillingAccount, on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    key = models.CharField(max_length=80, help_text="what it is once for: a bucket, a period")
    detail = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["billing_account", "kind", "key"], name="charging_notification_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.detail}"


class DiameterPeer(models.Model):
    """A Diameter node of a host network allowed to speak Gy to us (its Origin-Host).

    The Gy server accepts a capabilities exchange (CER) only from an active peer, and charges
    a peer's credit-control requests to its host network (``manage.py gy_peer``).
    """

    host_network = models.ForeignKey(HostNetwork, on_delete=models.CASCADE, related_name="+")
    origin_host = models.CharField(
        max_length=255, unique=True, help_text="the peer's Origin-Host (DiameterIdentity)"
    )
    origin_realm = models.CharField(max_length=255, help_text="the peer's Origin-Realm")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["host_network", "origin_host"]

    def __str__(self) -> str:
        return f"{self.host_network} {self.origin_host}"

    def save(self, *args, **kwargs):
        # DiameterIdentity is compared case-insensitively (RFC 6733 4.3.1).
        self.origin_host = self.origin_host.lower()
        self.origin_realm = self.origin_realm.lower()
        super().save(*args, **kwargs)
