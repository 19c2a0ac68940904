"""Serializers of the charging API: usage files, TMF635 usage, rejects and rerating jobs.

Conventions (README, REST API conventions; the same shapes as the catalogue and subscribers
APIs): every resource has ``id`` (a string), ``href`` and ``@type``; a related object is a
reference ``{"id", "href", "name", "@referredType"}``; instants are ISO 8601 in UTC; money is
``{"unit": "EUR", "value": "1.140000"}``. Rated amounts keep the 6 places they are stored with
(R2): they are exact event charges, rounded to the cent only on an invoice line (R3).

Output serializers describe resources. Input serializers check the SHAPE of a request only and
hand snake_case data to the view, which calls one ``charging`` service.
"""

from decimal import Decimal

from django.urls import NoReverseMatch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.reverse import reverse

from catalog.api import serializers as catalog_api
from catalog.models import UNIT_SIZE, PlanVersion, Service
from charging.cdr import parse_file_name
from charging.engine import price_of
from charging.forms import MAX_UPLOAD_BYTES
from charging.models import (
    ChargingNotification,
    ChargingSession,
    FileOrigin,
    FileStatus,
    PartStatus,
    RatingError,
    RatingStatus,
    RejectedRecord,
    RejectReason,
    RejectStatus,
    RerateChange,
    RerateJob,
    RerateScope,
    RerateStatus,
    SequenceGap,
    UsageEvent,
    UsageFile,
)
from charging.usage_json import MAX_BATCH_RECORDS, Outcome
from core.api import fields
from core.api.fields import (
    ConstantField,
    InstantField,
    MoneySchema,
    QuantitySchema,
    ReferenceSchema,
    ValidForSchema,
)
from core.money import quantize_rated
from subscribers.api import serializers as subscribers_api
from subscribers.selectors import billing_accounts_visible_to, subscriptions_visible_to

# Resource of each model: (router basename, @type); route names are api:charging-<basename>-…
RESOURCES = {
    UsageFile: ("usagefile", "UsageFile"),
    SequenceGap: ("sequencegap", "SequenceGap"),
    UsageEvent: ("usage", "Usage"),
    RejectedRecord: ("rejectedrecord", "RejectedRecord"),
    RerateJob: ("reratejob", "RerateJob"),
    ChargingSession: ("chargingsession", "ChargingSession"),
    ChargingNotification: ("chargingnotification", "ChargingNotification"),
}
# The base unit each service's quantities are counted in (R5).
SERVICE_UNITS = {
    Service.VOICE_OUT: "SECOND",
    Service.VOICE_IN: "SECOND",
    Service.SMS_OUT: "MESSAGE",
    Service.SMS_IN: "MESSAGE",
    Service.DATA: "BYTE",
    Service.EVENT: "EVENT",
}
USAGE_STATUSES = {RatingStatus.RATED: "rated", RatingStatus.ERROR: "ratingError"}
USAGE_STATUS_VALUES = {api: stored for stored, api in USAGE_STATUSES.items()}
RATING_TAGS = ("included", "partlyIncluded", "usage", "throttled")


def href(obj, request, resource: tuple[str, str] | None = None) -> str | None:
    """Return the absolute URL of a charging object's API resource."""
    basename = (resource or RESOURCES[type(obj)])[0]
    try:
        return reverse(f"api:charging-{basename}-detail", kwargs={"pk": obj.pk}, request=request)
    except NoReverseMatch:
        return None


def reference_name(obj) -> str:
    """The name a reference shows: what an operator calls the object."""
    if isinstance(obj, UsageEvent):
        return f"{obj.source}/{obj.record_id}"
    if isinstance(obj, RejectedRecord):
        return f"{obj.usage_file.name}:{obj.line_number}"
    return str(obj)


def reference(obj, request) -> dict:
    """Return the reference to an object of charging, the catalogue or the subscribers."""
    if isinstance(obj, PlanVersion):
        return catalog_api.reference(obj, request, catalog_api.OFFERING)
    if type(obj) in catalog_api.RESOURCES:
        return catalog_api.reference(obj, request)
    if type(obj) not in RESOURCES:
        return subscribers_api.reference(obj, request)
    return {
        "id": str(obj.pk),
        "href": href(obj, request),
        "name": reference_name(obj),
        "@referredType": RESOURCES[type(obj)][1],
    }


def rated_money(amount: Decimal | None, currency: str) -> dict | None:
    """Money of a rated amount, written with its 6 stored places (R2); None stays None."""
    if amount is None:
        return None
    return {"unit": currency, "value": str(quantize_rated(amount))}


def amount_text(amount: Decimal | None) -> str | None:
    """A rated amount as a string with its 6 places (R2); None stays None."""
    return None if amount is None else str(quantize_rated(amount))


def inline_enum(values, **kwargs) -> serializers.ChoiceField:
    """A choice field whose enum is written inline in the schema (no shared component name)."""
    values = list(values)
    field_class = extend_schema_field({"type": "string", "enum": values})(
        type("InlineChoiceField", (serializers.ChoiceField,), {})
    )
    return field_class(choices=[(value, value) for value in values], **kwargs)


# --- fields ---------------------------------------------------------------------------------


@extend_schema_field(ReferenceSchema)
class RefField(serializers.Field):
    """A read-only reference ``{"id", "href", "name", "@referredType"}``."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return reference(value, self.context.get("request"))


def quantity(amount: int, service: str) -> dict:
    return {"amount": amount, "units": SERVICE_UNITS.get(service, "EVENT")}


class ResourceSerializer(fields.ResourceSerializer):
    """A resource: ``id``, ``href`` and ``@type`` first, then the declared fields."""

    resources = RESOURCES
    href = staticmethod(href)


# --- usage files ----------------------------------------------------------------------------


@extend_schema_serializer(component_name="UsageFileRecordCount")
class RecordCountSerializer(serializers.Serializer):
    """What became of a file's records: read = accepted + rejected + duplicates (R16)."""

    read = serializers.IntegerField(source="records_read")
    accepted = serializers.IntegerField(source="records_accepted")
    rejected = serializers.IntegerField(source="records_rejected")
    duplicates = serializers.IntegerField(source="records_duplicate")


class SequenceGapSerializer(ResourceSerializer):
    """Files of a source that never arrived: sequence numbers missingFrom to missingTo."""

    source = serializers.CharField(read_only=True)
    missingFrom = serializers.IntegerField(source="missing_from", read_only=True)
    missingTo = serializers.IntegerField(source="missing_to", read_only=True)
    status = serializers.SerializerMethodField()
    detectedIn = RefField(source="detected_in", help_text="the file whose number showed the gap")
    detectedAt = InstantField(source="detected_at", read_only=True)
    resolvedAt = InstantField(
        source="resolved_at", read_only=True, allow_null=True, help_text="when a missing file came"
    )

    class Meta:
        model = SequenceGap

    @extend_schema_field({"type": "string", "enum": ["open", "resolved"]})
    def get_status(self, gap) -> str:
        return "open" if gap.resolved_at is None else "resolved"


class UsageFilePartSerializer(serializers.Serializer):
    """One part of a file rated by parallel workers (charging.partitions)."""

    number = serializers.IntegerField(read_only=True)
    status = inline_enum(PartStatus.values, read_only=True)
    stalled = serializers.BooleanField(
        read_only=True, help_text="a worker took it and no live worker holds it any more"
    )
    records = serializers.IntegerField(read_only=True)
    recordCount = RecordCountSerializer(source="*", read_only=True)
    detail = serializers.CharField(read_only=True, help_text="why the part failed")
    processedAt = InstantField(source="processed_at", read_only=True, allow_null=True)


class UsageFileSerializer(ResourceSerializer):
    """A usage file as received, what became of its records, and why it was held if it was."""

    name = serializers.CharField(read_only=True)
    source = serializers.CharField(read_only=True, help_text="the sending network's code")
    hostNetwork = RefField(source="host_network", allow_null=True)
    sequence = serializers.IntegerField(read_only=True, allow_null=True)
    fileTime = InstantField(source="file_time", read_only=True, allow_null=True)
    origin = inline_enum(FileOrigin.values, read_only=True)
    status = inline_enum(
        FileStatus.values,
        read_only=True,
        help_text="processing: read and rated in the background; duplicate: refused (R17); "
        "quarantined: its trailer does not count its records (R18); failed: unreadable",
    )
    statusDetail = serializers.CharField(source="status_detail", read_only=True)
    duplicateOf = RefField(source="duplicate_of", allow_null=True)
    recordCount = RecordCountSerializer(source="*", read_only=True)
    balanced = serializers.BooleanField(read_only=True, help_text="read = accepted + … (R16)")
    trailerCount = serializers.IntegerField(source="trailer_count", read_only=True, allow_null=True)
    checksum = serializers.CharField(read_only=True, help_text="SHA-256 of the file as received")
    size = serializers.IntegerField(read_only=True, help_text="bytes")
    content = serializers.SerializerMethodField(help_text="download the file as received")
    receivedAt = InstantField(source="received_at", read_only=True)
    receivedBy = serializers.CharField(
        source="received_by.username", read_only=True, allow_null=True
    )
    processedAt = InstantField(source="processed_at", read_only=True, allow_null=True)
    stalled = serializers.BooleanField(
        read_only=True,
        default=False,
        help_text="processing, and no live worker holds the file (or one of its parts): its "
        "worker stopped; nothing of that attempt was written. POST retry (or retryParts)",
    )
    part = serializers.SerializerMethodField(
        help_text="the parts of a file rated by parallel workers (empty: rated whole)"
    )

    class Meta:
        model = UsageFile

    @extend_schema_field(UsageFilePartSerializer(many=True))
    def get_part(self, usage_file) -> list:
        if not usage_file.part_count:
            return []
        from charging.selectors import usage_file_parts_with_stalled

        parts = usage_file_parts_with_stalled(usage_file.parts.all())
        return UsageFilePartSerializer(parts, many=True).data

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_content(self, usage_file) -> str | None:
        if not usage_file.content:
            return None
        return reverse(
            "api:charging-usagefile-content",
            kwargs={"pk": usage_file.pk},
            request=self.context.get("request"),
        )


@extend_schema_serializer(component_name="DuplicateFileError")
class DuplicateFileErrorSerializer(serializers.Serializer):
    """The 409 of a file refused as a duplicate (R17): the error body and the refused file."""

    status = serializers.IntegerField()
    code = serializers.CharField()
    reason = serializers.CharField()
    message = serializers.CharField()
    usageFile = UsageFileSerializer()

    def get_fields(self):
        fields = {"@type": ConstantField("Error")}
        fields.update(super().get_fields())
        return fields


# --- TMF635 usage ---------------------------------------------------------------------------


@extend_schema_serializer(component_name="UsageCharacteristic")
class CharacteristicSchema(serializers.Serializer):
    """One characteristic of a usage record, as the host network sent it."""

    name = serializers.CharField()
    valueType = serializers.ChoiceField(choices=["string", "integer"])
    value = serializers.JSONField(help_text="a string or an integer, as valueType says")


@extend_schema_serializer(component_name="RatedProductUsage")
class RatedProductUsageSchema(serializers.Serializer):
    """One rating of a usage event: the retail charge (R7-R13) or the wholesale cost (R14).

    A retail amount is tax-included when the plan's prices are (R4): then
    ``taxIncludedRatingAmount`` is set and ``taxExcludedRatingAmount`` is null, else the other
    way round. Wholesale costs are net.
    """

    ratingAmountType = serializers.ChoiceField(choices=["retail", "wholesale"])
    ratingDate = InstantField(allow_null=True)
    usageRatingTag = serializers.ChoiceField(
        choices=list(RATING_TAGS),
        help_text="included: all charged units from allowances; partlyIncluded: some; "
        "usage: charged at the rate; throttled: past a fair-use cap (R13)",
    )
    isTaxIncluded = serializers.BooleanField()
    taxIncludedRatingAmount = MoneySchema(allow_null=True)
    taxExcludedRatingAmount = MoneySchema(allow_null=True)
    bucketValueConvertedInAmount = MoneySchema(
        allow_null=True, help_text="the allowance units used, valued at the rate's price"
    )
    currencyCode = serializers.CharField()
    destinationZone = serializers.CharField(allow_null=True, help_text="retail only")
    roamingZone = serializers.CharField(allow_null=True, help_text="retail only")
    timeBand = serializers.CharField(allow_null=True, help_text="retail only")
    productOffering = ReferenceSchema(allow_null=True, help_text="the plan version (retail)")
    productOfferingPrice = ReferenceSchema(allow_null=True, help_text="the rate row applied")
    chargedUnits = QuantitySchema(help_text="after the rate's increments (R9)")
    coveredUnits = QuantitySchema(help_text="drawn from allowances (R11, R12)")
    fairUseUnits = QuantitySchema(help_text="past a fair-use cap (R13)")
    throttled = serializers.BooleanField()

    def get_fields(self):
        fields = {"@type": ConstantField("RatedProductUsage")}
        fields.update(super().get_fields())
        return fields


@extend_schema_serializer(component_name="RelatedParty")
class RelatedPartySchema(ReferenceSchema):
    role = serializers.CharField()


def rating_tag(event: UsageEvent) -> str:
    """How the event's retail units were paid: allowances, the rate, or not at all (R11-R13)."""
    if event.throttled:
        return "throttled"
    if event.charged_units and event.covered_units >= event.charged_units:
        return "included"
    if event.covered_units:
        return "partlyIncluded"
    return "usage"


def bucket_value(event: UsageEvent) -> dict | None:
    """What the allowance units an event used would have cost at its rate (R2 precision)."""
    row = event.rate_row
    if not event.covered_units or row is None:
        return None
    value = price_of(event.covered_units, row.price, UNIT_SIZE[row.unit])
    return rated_money(value, event.currency)


def rated_product_usage(event: UsageEvent, request) -> list[dict]:
    """The retail and the wholesale rating of a rated event; none for one in error (R14)."""
    if event.rating_status != RatingStatus.RATED:
        return []
    retail_money = rated_money(event.retail_amount, event.currency)
    zero = quantity(0, event.service)
    retail = {
        "@type": "RatedProductUsage",
        "ratingAmountType": "retail",
        "ratingDate": InstantField().to_representation(event.rated_at) if event.rated_at else None,
        "usageRatingTag": rating_tag(event),
        "isTaxIncluded": event.tax_inclusive,
        "taxIncludedRatingAmount": retail_money if event.tax_inclusive else None,
        "taxExcludedRatingAmount": None if event.tax_inclusive else retail_money,
        "bucketValueConvertedInAmount": bucket_value(event),
        "currencyCode": event.currency,
        "destinationZone": event.destination_zone or None,
        "roamingZone": event.roaming_zone or None,
        "timeBand": event.time_band or None,
        "productOffering": reference(event.plan_version, request) if event.plan_version else None,
        "productOfferingPrice": reference(event.rate_row, request) if event.rate_row else None,
        "chargedUnits": quantity(event.charged_units, event.service),
        "coveredUnits": quantity(event.covered_units, event.service),
        "fairUseUnits": quantity(event.fair_use_units, event.service),
        "throttled": event.throttled,
    }
    wholesale_row = event.wholesale_rate_row
    wholesale = {
        "@type": "RatedProductUsage",
        "ratingAmountType": "wholesale",
        "ratingDate": retail["ratingDate"],
        "usageRatingTag": "usage",
        "isTaxIncluded": False,
        "taxIncludedRatingAmount": None,
        "taxExcludedRatingAmount": rated_money(event.wholesale_amount, event.currency),
        "bucketValueConvertedInAmount": None,
        "currencyCode": event.currency,
        "destinationZone": None,  # the wholesale card zones by its own table (not stored)
        "roamingZone": None,
        "timeBand": None,
        "productOffering": None,
        "productOfferingPrice": reference(wholesale_row, request) if wholesale_row else None,
        "chargedUnits": quantity(event.wholesale_units, event.service),
        "coveredUnits": zero,
        "fairUseUnits": zero,
        "throttled": False,
    }
    return [retail, wholesale]


def usage_characteristics(event: UsageEvent) -> list[dict]:
    """The record as the host network sent it, normalised (R5, R6); empty texts left out."""
    texts = [
        ("recordId", event.record_id),
        ("recordType", event.record_type),
        ("source", event.source),
        ("msisdn", event.msisdn),
        ("imsi", event.imsi),
        ("utcOffset", event.utc_offset),
        ("otherParty", event.other_party),
        ("visitedPlmn", event.visited_plmn),
        ("apn", event.apn),
        ("chargingId", event.charging_id),
        ("cause", event.cause),
    ]
    numbers = [
        ("duration", event.duration),
        ("volumeUplink", event.volume_uplink),
        ("volumeDownlink", event.volume_downlink),
    ]
    found = [{"name": n, "valueType": "string", "value": v} for n, v in texts if v]
    found += [{"name": n, "valueType": "integer", "value": v} for n, v in numbers]
    return found


class UsageSerializer(ResourceSerializer):
    """A usage event (TMF635 usage): the record, whose it is, and its retail and wholesale rating.

    ``status`` is ``rated``, or ``ratingError`` for an event waiting in the error queue with its
    ``ratingError`` code (R7); ``ratedProductUsage`` holds its two ratings (R14).
    """

    usageDate = InstantField(source="started_at", read_only=True, help_text="when it started")
    usageType = serializers.ChoiceField(choices=Service.choices, source="service", read_only=True)
    status = serializers.SerializerMethodField()
    ratingError = serializers.SerializerMethodField()
    ratingErrorDetail = serializers.SerializerMethodField()
    quantity = serializers.SerializerMethodField(help_text="the raw units of the record (R5)")
    usageCharacteristic = serializers.SerializerMethodField()
    product = RefField(source="subscription", help_text="the subscription (TMF637 product)")
    billingAccount = RefField(source="billing_account")
    relatedParty = serializers.SerializerMethodField()
    usageFile = RefField(source="usage_file", allow_null=True)
    lineNumber = serializers.IntegerField(source="line_number", read_only=True, allow_null=True)
    ratedProductUsage = serializers.SerializerMethodField()

    class Meta:
        model = UsageEvent

    @extend_schema_field({"type": "string", "enum": list(USAGE_STATUS_VALUES)})
    def get_status(self, event) -> str:
        return USAGE_STATUSES[event.rating_status]

    @extend_schema_field({"type": "string", "enum": RatingError.values, "nullable": True})
    def get_ratingError(self, event) -> str | None:
        return event.rating_error or None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_ratingErrorDetail(self, event) -> str | None:
        if event.rating_status != RatingStatus.ERROR:
            return None
        return event.rating_detail or None

    @extend_schema_field(QuantitySchema)
    def get_quantity(self, event) -> dict:
        return quantity(event.units, event.service)

    @extend_schema_field(CharacteristicSchema(many=True))
    def get_usageCharacteristic(self, event) -> list[dict]:
        return usage_characteristics(event)

    @extend_schema_field(RelatedPartySchema(many=True))
    def get_relatedParty(self, event) -> list[dict]:
        customer = event.billing_account.customer
        return [{**reference(customer, self.context.get("request")), "role": "customer"}]

    @extend_schema_field(RatedProductUsageSchema(many=True))
    def get_ratedProductUsage(self, event) -> list[dict]:
        return rated_product_usage(event, self.context.get("request"))


# --- rejected records -----------------------------------------------------------------------


class RejectedRecordSerializer(ResourceSerializer):
    """A record not accepted, kept with its line, raw text and reason (R16, R19)."""

    usageFile = RefField(source="usage_file")
    lineNumber = serializers.IntegerField(source="line_number", read_only=True)
    recordId = serializers.CharField(source="record_id", read_only=True)
    raw = serializers.CharField(read_only=True, help_text="the CSV line as it was read")
    reason = inline_enum(RejectReason.values, read_only=True)
    reasonDescription = serializers.CharField(source="get_reason_display", read_only=True)
    detail = serializers.CharField(read_only=True)
    status = inline_enum(RejectStatus.values, read_only=True)
    correctedRecord = serializers.CharField(
        source="corrected_raw", read_only=True, help_text="the line as last corrected"
    )
    usage = RefField(source="usage_event", allow_null=True, help_text="once reprocessed")
    reprocessedAt = InstantField(source="reprocessed_at", read_only=True, allow_null=True)
    reprocessedBy = serializers.CharField(
        source="reprocessed_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = RejectedRecord


# --- rerating -------------------------------------------------------------------------------


@extend_schema_serializer(component_name="RerateAmounts")
class AmountsSchema(serializers.Serializer):
    """Sums over the changed events, as decimal strings in the events' currency (R2)."""

    before = serializers.CharField()
    after = serializers.CharField()
    difference = serializers.CharField()


@extend_schema_serializer(component_name="RerateEventCount")
class EventCountSchema(serializers.Serializer):
    total = serializers.IntegerField(help_text="events in the window and scope")
    done = serializers.IntegerField(help_text="rerated so far")
    changed = serializers.IntegerField(help_text="whose status or amounts changed")


def amounts(before: Decimal, after: Decimal) -> dict:
    return {
        "before": amount_text(before),
        "after": amount_text(after),
        "difference": amount_text(after - before),
    }


class RerateJobSerializer(ResourceSerializer):
    """A rerating of ``validFor`` after a catalogue correction (R15), its progress and sums."""

    scope = inline_enum(RerateScope.values, read_only=True)
    product = RefField(source="subscription", allow_null=True)
    billingAccount = RefField(source="billing_account", allow_null=True)
    validFor = serializers.SerializerMethodField()
    reason = serializers.CharField(read_only=True)
    errorsOnly = serializers.BooleanField(source="errors_only", read_only=True)
    status = inline_enum(RerateStatus.values, read_only=True)
    statusDetail = serializers.CharField(source="status_detail", read_only=True)
    progress = serializers.IntegerField(read_only=True, help_text="percent of its events done")
    eventCount = serializers.SerializerMethodField()
    retailAmount = serializers.SerializerMethodField()
    wholesaleAmount = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField(help_text="the changed events, before and after")
    createdAt = InstantField(source="created_at", read_only=True)
    createdBy = serializers.CharField(source="created_by.username", read_only=True, allow_null=True)
    startedAt = InstantField(source="started_at", read_only=True, allow_null=True)
    finishedAt = InstantField(source="finished_at", read_only=True, allow_null=True)

    class Meta:
        model = RerateJob

    @extend_schema_field(ValidForSchema)
    def get_validFor(self, job) -> dict:
        instant = InstantField()
        return {
            "startDateTime": instant.to_representation(job.start),
            "endDateTime": instant.to_representation(job.end),
        }

    @extend_schema_field(EventCountSchema)
    def get_eventCount(self, job) -> dict:
        return {"total": job.events_total, "done": job.events_done, "changed": job.events_changed}

    @extend_schema_field(AmountsSchema)
    def get_retailAmount(self, job) -> dict:
        return amounts(job.retail_before, job.retail_after)

    @extend_schema_field(AmountsSchema)
    def get_wholesaleAmount(self, job) -> dict:
        return amounts(job.wholesale_before, job.wholesale_after)

    @extend_schema_field(OpenApiTypes.URI)
    def get_changes(self, job) -> str:
        return reverse(
            "api:charging-reratejob-changes",
            kwargs={"pk": job.pk},
            request=self.context.get("request"),
        )


class RerateChangeSerializer(serializers.Serializer):
    """One event a rerating changed: status and amounts before and after (R15)."""

    id = serializers.CharField(source="pk")
    usage = RefField(source="usage_event")
    statusBefore = serializers.SerializerMethodField()
    statusAfter = serializers.SerializerMethodField()
    retailBefore = serializers.SerializerMethodField()
    retailAfter = serializers.SerializerMethodField()
    wholesaleBefore = serializers.SerializerMethodField()
    wholesaleAfter = serializers.SerializerMethodField()
    planVersionBefore = serializers.CharField(
        source="plan_version_before", allow_null=True, help_text="id of the product offering"
    )
    rateRowBefore = serializers.CharField(
        source="rate_row_before", allow_null=True, help_text="id of the productOfferingPrice"
    )
    settledAt = InstantField(
        source="settled_at", allow_null=True, help_text="when invoicing took the difference in"
    )

    class Meta:
        model = RerateChange

    def get_fields(self):
        fields = {"@type": ConstantField("RerateChange")}
        fields.update(super().get_fields())
        return fields

    @extend_schema_field({"type": "string", "description": "rated or ratingError"})
    def get_statusBefore(self, change) -> str:
        return USAGE_STATUSES.get(change.status_before, change.status_before)

    @extend_schema_field({"type": "string", "description": "rated or ratingError"})
    def get_statusAfter(self, change) -> str:
        return USAGE_STATUSES.get(change.status_after, change.status_after)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_retailBefore(self, change) -> str | None:
        return amount_text(change.retail_before)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_retailAfter(self, change) -> str | None:
        return amount_text(change.retail_after)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_wholesaleBefore(self, change) -> str | None:
        return amount_text(change.wholesale_before)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_wholesaleAfter(self, change) -> str | None:
        return amount_text(change.wholesale_after)


# --- the outcome of a JSON usage batch ------------------------------------------------------


@extend_schema_serializer(component_name="UsageBatchRecordCount")
class BatchCountSerializer(serializers.Serializer):
    """read = accepted + rejected + duplicates (R16); accepted = rated + ratingError (R33)."""

    read = serializers.IntegerField(source="counts.read")
    accepted = serializers.IntegerField(source="counts.accepted")
    rejected = serializers.IntegerField(source="counts.rejected")
    duplicates = serializers.IntegerField(source="counts.duplicate")
    rated = serializers.IntegerField()
    ratingError = serializers.IntegerField(source="rating_errors")


class UsageBatchRecordSerializer(serializers.Serializer):
    """What became of one record of the batch, in the batch's order."""

    index = serializers.IntegerField(help_text="position in the batch's usage list, from 0")
    lineNumber = serializers.IntegerField(
        source="line_number", help_text="its line in the stored batch (usageFile content)"
    )
    recordId = serializers.CharField(source="record_id")
    outcome = inline_enum(
        [Outcome.RATED, Outcome.RATING_ERROR, Outcome.REJECTED, Outcome.DUPLICATE],
        help_text="rated; ratingError: accepted, waiting in the error queue (R7); rejected: "
        "kept with its reason for correction (R16); duplicate: accepted before (R17)",
    )
    reason = serializers.SerializerMethodField()
    detail = serializers.SerializerMethodField()
    usage = RefField(source="usage_event", allow_null=True)
    retailAmount = serializers.SerializerMethodField()
    isTaxIncluded = serializers.SerializerMethodField()
    wholesaleAmount = serializers.SerializerMethodField()
    rejectedRecord = RefField(source="rejected_record", allow_null=True)
    duplicateOf = RefField(source="duplicate_of", allow_null=True)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_reason(self, outcome) -> str | None:
        return outcome.reason or None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_detail(self, outcome) -> str | None:
        return outcome.detail or None

    @extend_schema_field(MoneySchema(allow_null=True))
    def get_retailAmount(self, outcome) -> dict | None:
        event = outcome.usage_event
        if event is None or event.rating_status != RatingStatus.RATED:
            return None
        return rated_money(event.retail_amount, event.currency)

    @extend_schema_field({"type": "boolean", "nullable": True})
    def get_isTaxIncluded(self, outcome) -> bool | None:
        event = outcome.usage_event
        if event is None or event.rating_status != RatingStatus.RATED:
            return None
        return event.tax_inclusive

    @extend_schema_field(MoneySchema(allow_null=True))
    def get_wholesaleAmount(self, outcome) -> dict | None:
        event = outcome.usage_event
        if event is None or event.rating_status != RatingStatus.RATED:
            return None
        return rated_money(event.wholesale_amount, event.currency)


class UsageBatchSerializer(serializers.Serializer):
    """The outcome of a batch: its usage file, its counts and every record's fate."""

    usageFile = UsageFileSerializer(source="usage_file")
    recordCount = BatchCountSerializer(source="*")
    usage = UsageBatchRecordSerializer(source="outcomes", many=True)

    def get_fields(self):
        fields = {"@type": ConstantField("UsageBatch")}
        fields.update(super().get_fields())
        return fields


# --- input ----------------------------------------------------------------------------------


class UsageFileInput(serializers.Serializer):
    file = serializers.FileField(
        help_text="CDR_<SOURCE>_<YYYYMMDDhhmmss>_<SEQ>.csv, plain or gzip (.csv.gz)",
        # An empty file is received and quarantined (R18), as on every other door: never lost.
        allow_empty_file=True,
    )

    def validate_file(self, upload):
        name = upload.name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
        if parse_file_name(name) is None:
            raise serializers.ValidationError(
                f"the name {name} does not follow CDR_<SOURCE>_<YYYYMMDDhhmmss>_<SEQ>.csv[.gz]; "
                "send the file under the name the host network gave it"
            )
        if upload.size > MAX_UPLOAD_BYTES:
            raise serializers.ValidationError(
                f"larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: use the inbox directory"
            )
        upload.clean_name = name
        return upload


@extend_schema_serializer(component_name="UsageRecord")
class UsageRecordSchema(serializers.Serializer):
    """One normalised usage record; checked by the rules of a CSV line of a usage file."""

    recordId = serializers.CharField(help_text="unique per source (R17), 1 to 64 characters")
    usageType = serializers.CharField(
        help_text="record type MOC, MTC, SMSO, SMST, PGW, or the service VOICE_OUT, VOICE_IN, "
        "SMS_OUT, SMS_IN, DATA"
    )
    msisdn = serializers.CharField(
        required=False, help_text="E.164 digits without '+'; or imsi alone (R19)"
    )
    imsi = serializers.CharField(required=False, help_text="15 digits")
    usageDate = serializers.DateTimeField(
        help_text="start, ISO 8601 with its UTC offset, whole seconds: 2026-10-07T21:30:00+02:00"
    )
    duration = serializers.IntegerField(required=False, min_value=0, help_text="seconds")
    otherParty = serializers.CharField(
        required=False, help_text="digits, country code first; required for MOC and SMSO"
    )
    volumeUplink = serializers.IntegerField(required=False, min_value=0, help_text="bytes")
    volumeDownlink = serializers.IntegerField(required=False, min_value=0, help_text="bytes")
    apn = serializers.CharField(required=False)
    visitedPlmn = serializers.CharField(help_text="MCC+MNC of the network used, 5 or 6 digits")
    chargingId = serializers.CharField(required=False)
    cause = serializers.ChoiceField(
        choices=["NORMAL", "ABNORMAL", "PARTIAL"], required=False, help_text="NORMAL if left out"
    )


@extend_schema_field(UsageRecordSchema(many=True))
class UsageRecordsField(serializers.ListField):
    """The batch's records; each is checked one by one, and a bad one is rejected, not lost."""


class UsageBatchInput(serializers.Serializer):
    source = serializers.CharField(max_length=32, help_text="code of the sending host network")
    usage = UsageRecordsField(
        child=serializers.JSONField(),
        min_length=1,
        max_length=MAX_BATCH_RECORDS,
        help_text=f"1 to {MAX_BATCH_RECORDS} records",
    )


class CorrectedRecordInput(serializers.Serializer):
    correctedRecord = serializers.CharField(
        source="corrected_raw",
        required=False,
        allow_blank=True,
        max_length=10_000,
        help_text="the record as one corrected CSV line of 14 fields; left out: as it was",
    )

    def validate_correctedRecord(self, value: str) -> str:
        if "\n" in value.strip() or "\r" in value.strip():
            raise serializers.ValidationError("one line only: a record is one line of a file")
        return value.strip()


class DiscardInput(serializers.Serializer):
    reason = serializers.CharField(max_length=280, help_text="why it will never be charged")


class WindowInput(serializers.Serializer):
    startDateTime = InstantField(source="start", help_text="from this instant, included")
    endDateTime = InstantField(source="end", help_text="to this instant, excluded")
    reason = serializers.CharField(max_length=300, help_text="what was corrected in the catalogue")

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"endDateTime": ["the window ends after it starts"]})
        return attrs


def visible_subscriptions(user):
    return subscriptions_visible_to(user)


def visible_accounts(user):
    return billing_accounts_visible_to(user)


class RerateJobInput(WindowInput):
    scope = inline_enum(
        RerateScope.values,
        help_text="subscription (with product), account (with billingAccount) or period "
        "(every subscriber)",
    )
    product = subscribers_api.RefField(
        visible_subscriptions, source="subscription", required=False, allow_null=True
    )
    billingAccount = subscribers_api.RefField(
        visible_accounts, source="billing_account", required=False, allow_null=True
    )
    errorsOnly = serializers.BooleanField(
        source="errors_only", required=False, default=False,
        help_text="only events waiting in the rating error queue",
    )  # fmt: skip

    def validate(self, attrs):
        attrs = super().validate(attrs)
        scope = attrs["scope"]
        if scope == RerateScope.SUBSCRIPTION and not attrs.get("subscription"):
            raise serializers.ValidationError({"product": ["name the subscription to rerate"]})
        if scope == RerateScope.ACCOUNT and not attrs.get("billing_account"):
            raise serializers.ValidationError(
                {"billingAccount": ["name the billing account to rerate"]}
            )
        return attrs


# --- online charging (R20-R22) ---------------------------------------------------------------


class ReservationSerializer(serializers.Serializer):
    """A hold on money and allowance units; granted = committed + released once closed."""

    requestNumber = serializers.IntegerField(source="request_number")
    status = serializers.CharField()
    units = serializers.IntegerField(help_text="units held, the session's used ones included")
    coveredUnits = serializers.IntegerField(source="covered_units")
    amount = serializers.SerializerMethodField()
    committedUnits = serializers.IntegerField(source="committed_units")
    committedAmount = serializers.SerializerMethodField()
    releasedAmount = serializers.SerializerMethodField()
    createdAt = InstantField(source="created_at")
    validUntil = InstantField(source="valid_until")
    closedAt = InstantField(source="closed_at", allow_null=True)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_amount(self, reservation):
        return rated_money(reservation.amount, reservation.currency or "EUR")

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_committedAmount(self, reservation):
        return rated_money(reservation.committed_amount, reservation.currency or "EUR")

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_releasedAmount(self, reservation):
        return rated_money(reservation.released_amount, reservation.currency or "EUR")


class ChargingSessionSerializer(ResourceSerializer):
    """An online charging session: who, what, since when, what it holds, its reservations."""

    status = serializers.CharField(read_only=True)
    refusal = serializers.CharField(read_only=True)
    hostNetwork = serializers.CharField(source="host_network.code", read_only=True)
    sessionId = serializers.CharField(source="session_id", read_only=True)
    chargingId = serializers.CharField(source="charging_id", read_only=True)
    reference = serializers.CharField(read_only=True, help_text="the chargingDataRef")
    product = RefField(source="subscription", allow_null=True)
    billingAccount = RefField(source="billing_account", allow_null=True)
    msisdn = serializers.CharField(read_only=True)
    service = serializers.CharField(read_only=True)
    otherParty = serializers.CharField(source="other_party", read_only=True)
    visitedPlmn = serializers.CharField(source="visited_plmn", read_only=True)
    startedAt = InstantField(source="started_at", read_only=True)
    lastRequestAt = InstantField(source="last_request_at", read_only=True)
    expiresAt = InstantField(source="expires_at", read_only=True, allow_null=True)
    endedAt = InstantField(source="ended_at", read_only=True, allow_null=True)
    grantedUnits = serializers.IntegerField(source="granted_units", read_only=True)
    usedUnits = serializers.IntegerField(source="used_units", read_only=True)
    reservedUnits = serializers.IntegerField(source="reserved_units", read_only=True)
    reservedAmount = serializers.SerializerMethodField()
    usage = RefField(source="usage_event", allow_null=True)
    endReason = serializers.CharField(source="end_reason", read_only=True)
    reservations = ReservationSerializer(many=True, read_only=True)

    class Meta:
        model = ChargingSession

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_reservedAmount(self, session):
        currency = session.billing_account.currency if session.billing_account else "EUR"
        return rated_money(session.reserved_amount, currency)


class ChargingNotificationSerializer(ResourceSerializer):
    """A threshold told once: 80 % / 100 % of an allowance, a fair-use cap, a low balance."""

    kind = serializers.CharField(read_only=True)
    detail = serializers.CharField(read_only=True)
    product = RefField(source="subscription", allow_null=True)
    billingAccount = RefField(source="billing_account")
    createdAt = InstantField(source="created_at", read_only=True)

    class Meta:
        model = ChargingNotification
