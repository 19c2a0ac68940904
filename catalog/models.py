"""The catalogue: everything the rating engine and the bill run need to know about prices.

Rules: billing-rules R1-R13, R24. Prices are Decimals in the currency of the object that owns
them (a rate card, a plan, an add-on); units follow R5 (seconds, bytes SI, counts).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from core.money import RATED_PLACES

PRICE_DIGITS = 18
PRICE_PLACES = 8
FEE_PLACES = 6

digits_only = RegexValidator(r"^[0-9]+$", "digits only")
code_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9_\-\.]*$", "upper-case letters, digits, '_', '-' and '.' only"
)


class Service(models.TextChoices):
    """The kinds of usage the engine rates."""

    VOICE_OUT = "VOICE_OUT", "voice out"
    VOICE_IN = "VOICE_IN", "voice in"
    SMS_OUT = "SMS_OUT", "SMS out"
    SMS_IN = "SMS_IN", "SMS in"
    DATA = "DATA", "data"
    EVENT = "EVENT", "event"


class Unit(models.TextChoices):
    """Units of prices, allowances and caps; each has a size in the service's base unit (R5)."""

    SECOND = "SECOND", "second"
    MINUTE = "MINUTE", "minute"
    MESSAGE = "MESSAGE", "message"
    EVENT = "EVENT", "event"
    BYTE = "BYTE", "byte"
    KB = "KB", "KB"
    MB = "MB", "MB"
    GB = "GB", "GB"


UNIT_SIZE = {
    Unit.SECOND: 1,
    Unit.MINUTE: 60,
    Unit.MESSAGE: 1,
    Unit.EVENT: 1,
    Unit.BYTE: 1,
    Unit.KB: 1_000,
    Unit.MB: 1_000_000,
    Unit.GB: 1_000_000_000,
}
VOICE_SERVICES = {Service.VOICE_OUT, Service.VOICE_IN}
SMS_SERVICES = {Service.SMS_OUT, Service.SMS_IN}
SERVICE_UNITS = {
    Service.VOICE_OUT: {Unit.SECOND, Unit.MINUTE},
    Service.VOICE_IN: {Unit.SECOND, Unit.MINUTE},
    Service.SMS_OUT: {Unit.MESSAGE},
    Service.SMS_IN: {Unit.MESSAGE},
    Service.DATA: {Unit.BYTE, Unit.KB, Unit.MB, Unit.GB},
    Service.EVENT: {Unit.EVENT},
}
# Services rated per event (messages, value-added events): no increments apply.
COUNTED_SERVICES = {Service.SMS_OUT, Service.SMS_IN, Service.EVENT}
DEFAULT_DATA_INCREMENT = 1_000  # 1 KB (R9)


class Status(models.TextChoices):
    """Lifecycle of a rate card, a plan version, an add-on or a promotion."""

    DRAFT = "draft", "draft"
    PUBLISHED = "published", "published"
    RETIRED = "retired", "retired"


class PaymentModel(models.TextChoices):
    PREPAID = "prepaid", "prepaid"
    POSTPAID = "postpaid", "postpaid"
    HYBRID = "hybrid", "hybrid"


class CatalogModel(models.Model):
    """Common fields of catalogue records."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


# --- brands ---------------------------------------------------------------------------------


class Brand(CatalogModel):
    """The MVNO's own brand or a sub-brand/reseller it hosts.

    It lives in the catalogue (not in subscribers) because plans name their brand and the
    catalogue comes first in the dependency order; customers of the subscribers app belong to
    a brand too.
    """

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sub_brands",
        help_text="the brand that hosts this sub-brand or reseller",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("catalog:brand-detail", args=[self.pk])


class BrandScope(models.Model):
    """Limits a console or API user to some brands; a user with none sees every brand.

    It lives next to Brand so that the catalogue, first in the dependency order, scopes its own
    reads and writes. Its table keeps the name it had in subscribers (a state-only move).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="brand_scopes"
    )
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    history = HistoricalRecords(table_name="subscribers_historicalbrandscope")

    class Meta:
        db_table = "subscribers_brandscope"
        constraints = [models.UniqueConstraint(fields=["user", "brand"], name="brand_scope_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.brand.code}"


# --- zones ----------------------------------------------------------------------------------


class ZoneTable(CatalogModel):
    """A numbering plan: destination zones by number prefix and roaming zones by network (R7a)."""

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    history = HistoricalRecords()
    # Their changes show in this object's audit trail (core.console.history).
    audit_children = ("zones", "members")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("catalog:zonetable-detail", args=[self.pk])


class ZoneType(models.TextChoices):
    DESTINATION = "destination", "destination"
    ROAMING = "roaming", "roaming"


class ZoneKind(models.TextChoices):
    """How a zone is matched (R7a)."""

    LISTED = "listed", "listed prefixes or networks"
    REST = "rest", "everything else"
    INCOMING = "incoming", "received calls and SMS"
    HOME = "home", "on the host network that sent the record"


class Zone(CatalogModel):
    """A destination zone (by prefixes) or a roaming zone (by visited networks)."""

    table = models.ForeignKey(ZoneTable, on_delete=models.CASCADE, related_name="zones")
    zone_type = models.CharField(max_length=12, choices=ZoneType.choices)
    code = models.CharField(max_length=32, validators=[code_validator])
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=10, choices=ZoneKind.choices, default=ZoneKind.LISTED)
    history = HistoricalRecords()
    # Their changes show in this object's audit trail (core.console.history).
    audit_children = ("members",)

    class Meta:
        ordering = ["table", "zone_type", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["table", "zone_type", "code"], name="zone_code_unique_in_table"
            ),
            models.UniqueConstraint(
                fields=["table", "zone_type", "kind"],
                condition=~Q(kind="listed"),
                name="zone_special_kind_once_per_table",
            ),
            models.CheckConstraint(
                condition=(Q(zone_type="destination") & Q(kind__in=["listed", "rest", "incoming"]))
                | (Q(zone_type="roaming") & Q(kind__in=["listed", "rest", "home"])),
                name="zone_kind_fits_type",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class ZoneMember(models.Model):
    """One number prefix of a destination zone, or one network (MCC or MCC+MNC) of a roaming zone.

    A prefix or network belongs to one zone of its table at most (a database constraint).
    """

    table = models.ForeignKey(ZoneTable, on_delete=models.CASCADE, related_name="members")
    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="members")
    zone_type = models.CharField(max_length=12, choices=ZoneType.choices)
    value = models.CharField(max_length=15, validators=[digits_only])
    history = HistoricalRecords()

    class Meta:
        ordering = ["zone", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["table", "zone_type", "value"], name="zone_member_once_per_table"
            )
        ]

    def __str__(self) -> str:
        return f"{self.zone.code}: {self.value}"


# --- time bands -----------------------------------------------------------------------------


class TimeBandSet(CatalogModel):
    """Named weekly windows (peak, off-peak, weekend) that together cover the week (R8).

    ``timezone`` is the default zone for evaluating bands; rating uses the billing account's
    timezone when it has one (R8).
    """

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="Europe/Berlin")
    history = HistoricalRecords()
    # Their changes show in this object's audit trail (core.console.history).
    audit_children = ("bands",)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("catalog:timebandset-detail", args=[self.pk])


class TimeBand(CatalogModel):
    """A band of a set; ``is_rest`` makes it cover every minute no other band covers."""

    band_set = models.ForeignKey(TimeBandSet, on_delete=models.CASCADE, related_name="bands")
    code = models.CharField(max_length=32, validators=[code_validator])
    name = models.CharField(max_length=200, blank=True)
    is_rest = models.BooleanField(default=False, help_text="covers the rest of the week")
    history = HistoricalRecords()
    # Their changes show in this object's audit trail (core.console.history).
    audit_children = ("windows",)

    class Meta:
        ordering = ["band_set", "code"]
        constraints = [
            models.UniqueConstraint(fields=["band_set", "code"], name="band_code_unique_in_set"),
            models.UniqueConstraint(
                fields=["band_set"], condition=Q(is_rest=True), name="one_rest_band_per_set"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class TimeBandWindow(models.Model):
    """Days of the week (ISO: 1 = Monday) and a [start, end) time; end 00:00 means midnight."""

    band = models.ForeignKey(TimeBand, on_delete=models.CASCADE, related_name="windows")
    days = models.JSONField(help_text="ISO weekdays, 1 = Monday … 7 = Sunday")
    start_time = models.TimeField()
    end_time = models.TimeField(help_text="00:00 means the end of the day")
    history = HistoricalRecords()

    class Meta:
        ordering = ["band", "start_time"]

    def __str__(self) -> str:
        days = ",".join(str(day) for day in self.days)
        return f"{days} {self.start_time:%H:%M}-{self.end_time:%H:%M}"

    @property
    def start_minute(self) -> int:
        return self.start_time.hour * 60 + self.start_time.minute

    @property
    def end_minute(self) -> int:
        minute = self.end_time.hour * 60 + self.end_time.minute
        return minute or 1440


# --- tax ------------------------------------------------------------------------------------


class TaxCategory(CatalogModel):
    """A category of charges that tax regions rate alike (telecom services, content, …)."""

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "tax categories"

    def __str__(self) -> str:
        return self.code


class PrepaidTaxPoint(models.TextChoices):
    """When a prepaid balance's tax is accounted (R29)."""

    AT_USE = "use", "when the balance is used (the statement carries it)"
    AT_TOP_UP = "top_up", "at top-up (the receipt carries it)"


class TaxRegion(CatalogModel):
    """A tax jurisdiction; billing accounts name theirs."""

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    prepaid_tax_point = models.CharField(
        max_length=8,
        choices=PrepaidTaxPoint.choices,
        default=PrepaidTaxPoint.AT_USE,
        help_text="when the tax of prepaid money is accounted (R29)",
    )
    history = HistoricalRecords()
    # Their changes show in this object's audit trail (core.console.history).
    audit_children = ("rates",)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("catalog:taxregion-detail", args=[self.pk])


class TaxRate(CatalogModel):
    """The rate of one category in one region from a date on (until the next rate's date)."""

    region = models.ForeignKey(TaxRegion, on_delete=models.CASCADE, related_name="rates")
    category = models.ForeignKey(TaxCategory, on_delete=models.PROTECT, related_name="rates")
    rate = models.DecimalField(
        max_digits=7,
        decimal_places=5,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="0.19 for 19 %",
    )
    valid_from = models.DateField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["region", "category", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "category", "valid_from"], name="tax_rate_once_per_date"
            ),
            models.CheckConstraint(condition=Q(rate__gte=0), name="tax_rate_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.region.code}/{self.category.code} {self.rate} from {self.valid_from}"


# --- rate cards -----------------------------------------------------------------------------


class RateCardKind(models.TextChoices):
    RETAIL = "retail", "retail (a plan's prices)"
    WHOLESALE = "wholesale", "wholesale (a partner's costs)"


class RateCard(CatalogModel):
    """Rows of (service, destination zones, roaming zones, time band) → price (R7-R9)."""

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=RateCardKind.choices)
    currency = models.CharField(max_length=3, default="EUR")
    zone_table = models.ForeignKey(ZoneTable, on_delete=models.PROTECT, related_name="rate_cards")
    time_band_set = models.ForeignKey(
        TimeBandSet, null=True, blank=True, on_delete=models.PROTECT, related_name="rate_cards"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()
    # Their changes show in this object's audit trail (core.console.history).
    audit_children = ("rows",)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("catalog:ratecard-detail", args=[self.pk])


class RateRow(models.Model):
    """One tariff row; empty zone sets and an empty band mean "any" (R7).

    Increments are in the service's base unit: seconds for voice, bytes for data (R9); they do
    not apply to messages and events. The price is per ``unit``.
    """

    rate_card = models.ForeignKey(RateCard, on_delete=models.CASCADE, related_name="rows")
    service = models.CharField(max_length=10, choices=Service.choices)
    destination_zones = models.ManyToManyField(Zone, blank=True, related_name="+")
    roaming_zones = models.ManyToManyField(Zone, blank=True, related_name="+")
    time_band = models.ForeignKey(
        TimeBand, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    price = models.DecimalField(
        max_digits=PRICE_DIGITS,
        decimal_places=PRICE_PLACES,
        validators=[MinValueValidator(Decimal("0"))],
    )
    unit = models.CharField(max_length=8, choices=Unit.choices)
    increment_first = models.PositiveBigIntegerField(default=1)
    increment_next = models.PositiveBigIntegerField(default=1)
    connection_fee = models.DecimalField(
        max_digits=PRICE_DIGITS, decimal_places=RATED_PLACES, default=Decimal("0")
    )
    minimum_charge = models.DecimalField(
        max_digits=PRICE_DIGITS, decimal_places=RATED_PLACES, default=Decimal("0")
    )
    tax_category = models.ForeignKey(
        TaxCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords(m2m_fields=[destination_zones, roaming_zones])

    class Meta:
        ordering = ["rate_card", "service", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="rate_price_not_negative"),
            models.CheckConstraint(
                condition=Q(connection_fee__gte=0) & Q(minimum_charge__gte=0),
                name="rate_fees_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(increment_first__gte=1) & Q(increment_next__gte=1),
                name="rate_increments_positive",
            ),
        ]

    def __str__(self) -> str:
        price = format(self.price.normalize(), "f") if self.price is not None else "—"
        return f"{self.get_service_display()} {price} per {self.get_unit_display()}"


class HostNetwork(CatalogModel):
    """A host mobile network (MNO) whose radio network the MVNO rents.

    Its ``code`` is the SOURCE of its usage files; its PLMN codes decide the roaming zone HOME
    (R7a); its wholesale rate cards, effective-dated, price every event's wholesale cost (R14).
    """

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    plmn_codes = models.JSONField(default=list, help_text="MCC+MNC codes of this network")
    country_code = models.CharField(
        max_length=4, validators=[digits_only], help_text="home country calling code, e.g. 49"
    )
    history = HistoricalRecords()
    # Their changes show in this object's audit trail (core.console.history).
    audit_children = ("tariffs",)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("catalog:hostnetwork-detail", args=[self.pk])


class HostNetworkTariff(models.Model):
    """A wholesale rate card of a host network, in force from an instant on."""

    host_network = models.ForeignKey(HostNetwork, on_delete=models.CASCADE, related_name="tariffs")
    rate_card = models.ForeignKey(RateCard, on_delete=models.PROTECT, related_name="+")
    effective_from = models.DateTimeField()
    # Recurring wholesale fees of the same terms (R31), in the card's currency, per month.
    sim_fee = models.DecimalField(
        max_digits=PRICE_DIGITS,
        decimal_places=RATED_PLACES,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="per subscription active on any day of the month",
    )
    platform_fee = models.DecimalField(
        max_digits=PRICE_DIGITS,
        decimal_places=RATED_PLACES,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="a fixed fee per month",
    )
    minimum_commitment = models.DecimalField(
        max_digits=PRICE_DIGITS,
        decimal_places=RATED_PLACES,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="the least a month costs (usage and SIM fees); a shortfall is charged",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["host_network", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["host_network", "effective_from"], name="one_tariff_per_instant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.host_network.code} from {self.effective_from:%Y-%m-%d}: {self.rate_card}"


# --- plans ----------------------------------------------------------------------------------


class Plan(CatalogModel):
    """A tariff plan as marketed; what it costs lives in its versions."""

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="plans")
    payment_model = models.CharField(max_length=10, choices=PaymentModel.choices)
    currency = models.CharField(max_length=3, default="EUR")
    description = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("catalog:plan-detail", args=[self.pk])


class FeePeriod(models.TextChoices):
    MONTH = "month", "billing period (month)"


class FeeTiming(models.TextChoices):
    IN_ADVANCE = "in_advance", "in advance"
    IN_ARREARS = "in_arrears", "in arrears"


class PlanVersion(CatalogModel):
    """What a plan costs from ``effective_from`` on; immutable once published."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    effective_from = models.DateTimeField()
    rate_card = models.ForeignKey(RateCard, on_delete=models.PROTECT, related_name="plan_versions")
    recurring_fee = models.DecimalField(
        max_digits=PRICE_DIGITS, decimal_places=FEE_PLACES, default=Decimal("0")
    )
    fee_period = models.CharField(max_length=10, choices=FeePeriod.choices, default=FeePeriod.MONTH)
    fee_timing = models.CharField(
        max_length=12, choices=FeeTiming.choices, default=FeeTiming.IN_ADVANCE
    )
    activation_fee = models.DecimalField(
        max_digits=PRICE_DIGITS, decimal_places=FEE_PLACES, default=Decimal("0")
    )
    tax_inclusive = models.BooleanField(
        default=False, help_text="every price of this plan is gross"
    )
    tax_category = models.ForeignKey(
        TaxCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()
    # Their changes show in this object's audit trail (core.console.history).
    audit_children = ("allowances", "fair_use_policies")

    class Meta:
        ordering = ["plan", "version"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "version"], name="plan_version_number_unique"),
            models.CheckConstraint(
                condition=Q(recurring_fee__gte=0) & Q(activation_fee__gte=0),
                name="plan_fees_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["plan", "status", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.plan.code} v{self.version}"

    def get_absolute_url(self) -> str:
        return reverse("catalog:planversion-detail", args=[self.pk])


class AddOnKind(models.TextChoices):
    ONE_OFF = "one_off", "one-off"
    RECURRING = "recurring", "recurring each period"


class AddOn(CatalogModel):
    """A bolt-on: extra allowance or service, one-off or recurring, with a price and validity."""

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=AddOnKind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    currency = models.CharField(max_length=3, default="EUR")
    price = models.DecimalField(
        max_digits=PRICE_DIGITS, decimal_places=FEE_PLACES, default=Decimal("0")
    )
    validity_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="empty: until the end of the billing period"
    )
    tax_inclusive = models.BooleanField(default=False)
    tax_category = models.ForeignKey(
        TaxCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    zone_table = models.ForeignKey(
        ZoneTable,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the zone table its allowances name zones of",
    )
    eligible_plans = models.ManyToManyField(Plan, blank=True, related_name="add_ons")
    description = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(m2m_fields=[eligible_plans])
    # Their changes show in this object's audit trail (core.console.history).
    audit_children = ("allowances",)

    class Meta:
        ordering = ["code"]
        verbose_name = "add-on"
        constraints = [models.CheckConstraint(condition=Q(price__gte=0), name="addon_price_ok")]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("catalog:addon-detail", args=[self.pk])


class Allowance(models.Model):
    """Included units of a plan version or an add-on, granted per period (R11, R12).

    It covers only the services and zones it names (empty zone sets mean any). ``shared`` makes
    one bucket for all subscriptions of a billing account on this plan (a family or B2B pool).
    """

    plan_version = models.ForeignKey(
        PlanVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="allowances"
    )
    add_on = models.ForeignKey(
        AddOn, null=True, blank=True, on_delete=models.CASCADE, related_name="allowances"
    )
    name = models.CharField(max_length=100)
    services = models.JSONField(help_text='services it covers, e.g. ["VOICE_OUT"]')
    quantity = models.PositiveBigIntegerField()
    unit = models.CharField(max_length=8, choices=Unit.choices)
    destination_zones = models.ManyToManyField(Zone, blank=True, related_name="+")
    roaming_zones = models.ManyToManyField(Zone, blank=True, related_name="+")
    shared = models.BooleanField(default=False)
    history = HistoricalRecords(m2m_fields=[destination_zones, roaming_zones])

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(plan_version__isnull=False) & Q(add_on__isnull=True))
                | (Q(plan_version__isnull=True) & Q(add_on__isnull=False)),
                name="allowance_has_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.quantity} {self.unit}"

    @property
    def quantity_base(self) -> int:
        """The quantity in the service's base unit (seconds, bytes, messages)."""
        return self.quantity * UNIT_SIZE[self.unit]


class FairUseAction(models.TextChoices):
    OVERAGE = "overage", "charge an overage rate"
    THROTTLE = "throttle", "throttle (no charge)"


class FairUsePolicy(models.Model):
    """A cap on a service per period; past it, an overage price or throttling (R13)."""

    plan_version = models.ForeignKey(
        PlanVersion, on_delete=models.CASCADE, related_name="fair_use_policies"
    )
    name = models.CharField(max_length=100)
    services = models.JSONField()
    destination_zones = models.ManyToManyField(Zone, blank=True, related_name="+")
    roaming_zones = models.ManyToManyField(Zone, blank=True, related_name="+")
    cap_quantity = models.PositiveBigIntegerField()
    cap_unit = models.CharField(max_length=8, choices=Unit.choices)
    action = models.CharField(max_length=10, choices=FairUseAction.choices)
    overage_price = models.DecimalField(
        max_digits=PRICE_DIGITS, decimal_places=PRICE_PLACES, null=True, blank=True
    )
    overage_unit = models.CharField(max_length=8, choices=Unit.choices, blank=True)
    history = HistoricalRecords(m2m_fields=[destination_zones, roaming_zones])

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "fair use policies"

    def __str__(self) -> str:
        return f"{self.name}: {self.cap_quantity} {self.cap_unit} then {self.action}"

    @property
    def cap_base(self) -> int:
        return self.cap_quantity * UNIT_SIZE[self.cap_unit]


class DiscountType(models.TextChoices):
    PERCENT = "percent", "percentage of the recurring fee"
    FIXED = "fixed", "fixed amount off the recurring fee"
    INTRO_PRICE = "intro_price", "introductory price instead of the recurring fee"


class Promotion(CatalogModel):
    """A discount on the recurring fee for N periods, for the plans it names (R35)."""

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    discount_type = models.CharField(max_length=12, choices=DiscountType.choices)
    value = models.DecimalField(
        max_digits=PRICE_DIGITS,
        decimal_places=FEE_PLACES,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="percent (10 = 10 %), or an amount in the currency",
    )
    currency = models.CharField(max_length=3, default="EUR")
    periods = models.PositiveIntegerField(help_text="how many billing periods it applies")
    eligible_plans = models.ManyToManyField(Plan, related_name="promotions")
    available_from = models.DateTimeField(null=True, blank=True)
    available_until = models.DateTimeField(null=True, blank=True)
    description = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(m2m_fields=[eligible_plans])

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="promotion_value_ok"),
            models.CheckConstraint(
                condition=~Q(discount_type="percent") | Q(value__lte=100),
                name="promotion_percent_at_most_100",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("catalog:promotion-detail", args=[self.pk])
