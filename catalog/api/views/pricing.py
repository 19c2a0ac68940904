"""Rate cards and their rows, the usage prices (TMF620 productOfferingPrice)."""

from django.db.models import Count, Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action

from catalog import services
from catalog.api import filters
from catalog.api import serializers as api
from catalog.api.views.base import (
    ZONES,
    CatalogDeleteMixin,
    CatalogViewSet,
    CatalogWriteMixin,
    publish_schema,
    service_errors,
    take_money,
    write_schema,
)
from catalog.models import (
    RateCard,
    RateRow,
)

# --- rate cards and their rows --------------------------------------------------------------


def rate_rows():
    """Rate rows with what their representation reads."""
    return RateRow.objects.select_related(
        "rate_card", "time_band", "tax_category"
    ).prefetch_related(*ZONES)


@write_schema(
    api.RateCardInput,
    api.RateCardDetailSerializer,
    publish=publish_schema(api.RateCardDetailSerializer),
    retire=publish_schema(api.RateCardDetailSerializer),
    clone=extend_schema(
        request=api.RateCardCloneInput, responses={201: api.RateCardDetailSerializer}
    ),
)
class RateCardViewSet(CatalogWriteMixin, CatalogViewSet):
    """Rate cards, retail or wholesale; the detail lists their rows (productOfferingPrice).

    A draft card's header and rows change; ``publish`` freezes it (refused while two rows are
    equally specific for the same events, R7), ``retire`` ends it, ``clone`` copies it into a
    new draft.
    """

    serializer_class = api.RateCardSerializer
    detail_serializer_class = api.RateCardDetailSerializer
    input_serializer_class = api.RateCardInput
    filterset_class = filters.RateCardFilter

    def get_queryset(self):
        cards = RateCard.objects.select_related("zone_table", "time_band_set").annotate(
            row_count=Count("rows")
        )
        if self.action != "list":
            cards = cards.prefetch_related(
                Prefetch(
                    "rows",
                    queryset=RateRow.objects.select_related(
                        "time_band", "tax_category"
                    ).prefetch_related(*ZONES),
                )
            )
        return cards

    def current(self, card):
        return {
            "code": card.code,
            "name": card.name,
            "kind": card.kind,
            "currency": card.currency,
            "zone_table": card.zone_table,
            "time_band_set": card.time_band_set,
        }

    def save(self, card, data):
        return services.rate_card_save(
            code=data["code"],
            name=data["name"],
            kind=data["kind"],
            currency=data["currency"],
            zone_table=data["zone_table"],
            time_band_set=data.get("time_band_set"),
            rate_card=card,
            acting_user=self.request.user,
        )

    @action(detail=True, methods=["post"], required_permission="catalog.change_ratecard")
    def publish(self, request, pk=None):
        """Publish a draft card: it never changes again."""
        with service_errors(self.error_fields):
            card = services.rate_card_publish(rate_card=self.get_object(), acting_user=request.user)
        return self.represent(card)

    @action(detail=True, methods=["post"], required_permission="catalog.change_ratecard")
    def retire(self, request, pk=None):
        """Retire a published card; versions that use it keep rating with it."""
        with service_errors(self.error_fields):
            card = services.rate_card_retire(rate_card=self.get_object(), acting_user=request.user)
        return self.represent(card)

    @action(detail=True, methods=["post"], required_permission="catalog.add_ratecard")
    def clone(self, request, pk=None):
        """Copy the card and its rows into a new draft card."""
        card = self.get_object()
        data = self.read_input(api.RateCardCloneInput)
        with service_errors(self.error_fields):
            clone = services.rate_card_clone(
                rate_card=card, code=data["code"], name=data["name"], acting_user=request.user
            )
        return self.represent(clone, status.HTTP_201_CREATED)


@write_schema(api.ProductOfferingPriceInput, api.ProductOfferingPriceSerializer)
class ProductOfferingPriceViewSet(CatalogDeleteMixin, CatalogWriteMixin, CatalogViewSet):
    """Usage prices (TMF620 productOfferingPrice): the rows of the rate cards (R7-R9).

    A row is written only while its card is a draft, and never so that two rows of the card
    are equally specific for the same events (R7). Its price is in the card's currency.
    """

    serializer_class = api.ProductOfferingPriceSerializer
    input_serializer_class = api.ProductOfferingPriceInput
    filterset_class = filters.ProductOfferingPriceFilter
    filter_backends = [DjangoFilterBackend]
    error_fields = {"unit": "unitOfMeasure", "rate_card": "rateCard"}

    def get_queryset(self):
        return rate_rows()

    def current(self, row):
        data = {name: getattr(row, name) for name in services.ROW_FIELDS}
        data.update(
            rate_card=row.rate_card,
            destination_zones=list(row.destination_zones.all()),
            roaming_zones=list(row.roaming_zones.all()),
        )
        return data

    def save(self, row, data):
        card = data.pop("rate_card", None) or (row.rate_card if row is not None else None)
        if card is None:
            raise serializers.ValidationError({"rateCard": ["name the rate card of the row"]})
        if row is not None and card.pk != row.rate_card_id:
            raise serializers.ValidationError({"rateCard": ["a row stays on its rate card"]})
        take_money(
            data,
            card.currency,
            {
                "price": "price",
                "connection_fee": "connectionFee",
                "minimum_charge": "minimumCharge",
            },
            f"rate card {card.code}",
        )
        return services.rate_row_save(
            rate_card=card, data=data, row=row, acting_user=self.request.user
        )

    def remove(self, row):
        services.rate_row_delete(row=row, acting_user=self.request.user)
