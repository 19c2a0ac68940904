"""Console lists of online charging: live sessions, a session's reservations and requests."""

import django_tables2 as tables

from charging.online.models import ChargingRequest, ChargingSession, Reservation
from charging.tables import NUM, BadgeColumn, amount_text
from core.console.tables import ConsoleTable


class ChargingSessionTable(ConsoleTable):
    reference = tables.Column(
        linkify=("charging:chargingsession-detail", [tables.A("pk")]), verbose_name="Session"
    )
    status = BadgeColumn()
    msisdn = tables.Column(verbose_name="Who")
    subscription = tables.Column(linkify=True, verbose_name="Subscription")
    service = tables.Column(verbose_name="What")
    started_at = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name="Since")
    last_request_at = tables.DateTimeColumn(format="H:i:s", verbose_name="Last request")
    expires_at = tables.DateTimeColumn(format="H:i:s", verbose_name="Grant valid until")
    reserved_units = tables.Column(verbose_name="Held units", attrs=NUM)
    used_units = tables.Column(verbose_name="Used units", attrs=NUM)
    reserved_amount = tables.Column(verbose_name="Held money", attrs=NUM)

    class Meta(ConsoleTable.Meta):
        model = ChargingSession
        fields = ("host_network", "other_party", "refusal")
        sequence = (
            "reference", "status", "msisdn", "service", "started_at", "reserved_amount",
            "reserved_units", "used_units", "expires_at", "last_request_at", "other_party",
            "subscription", "host_network", "refusal",
        )  # fmt: skip

    def render_reference(self, value):
        return value[:8]

    def render_reserved_amount(self, value):
        return amount_text(value)


class ReservationTable(ConsoleTable):
    status = BadgeColumn()
    units = tables.Column(attrs=NUM, verbose_name="Units held")
    covered_units = tables.Column(attrs=NUM, verbose_name="From allowances")
    amount = tables.Column(attrs=NUM, verbose_name="Money held")
    committed_amount = tables.Column(attrs=NUM, verbose_name="Committed")
    released_amount = tables.Column(attrs=NUM, verbose_name="Released")
    created_at = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name="Held at")
    valid_until = tables.DateTimeColumn(format="H:i:s")
    closed_at = tables.DateTimeColumn(format="H:i:s")

    class Meta(ConsoleTable.Meta):
        model = Reservation
        fields = ("request_number", "committed_units")
        sequence = (
            "request_number", "status", "units", "covered_units", "amount", "committed_units",
            "committed_amount", "released_amount", "created_at", "valid_until", "closed_at",
        )  # fmt: skip

    def render_amount(self, value):
        return amount_text(value)

    def render_committed_amount(self, value):
        return amount_text(value)

    def render_released_amount(self, value):
        return amount_text(value)


class ChargingRequestTable(ConsoleTable):
    created_at = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name="At")
    result = tables.Column(accessor="answer__result", orderable=False, verbose_name="Result")
    granted = tables.Column(
        accessor="answer__grantedUnits", orderable=False, attrs=NUM, verbose_name="Granted units"
    )

    class Meta(ConsoleTable.Meta):
        model = ChargingRequest
        fields = ("request_number", "request_type")
        sequence = ("request_number", "request_type", "created_at", "result", "granted")
