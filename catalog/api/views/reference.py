"""Reference data of the catalogue: brands, tax, zones, time bands, host networks."""

from types import SimpleNamespace

from django.db.models import Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog import services
from catalog.api import filters
from catalog.api import serializers as api
from catalog.api.views.base import (
    CatalogDeleteMixin,
    CatalogViewSet,
    CatalogWriteMixin,
    service_errors,
    write_schema,
)
from catalog.lookup import ZoneIndex
from catalog.models import (
    Brand,
    HostNetwork,
    HostNetworkTariff,
    TaxCategory,
    TaxRate,
    TaxRegion,
    TimeBand,
    TimeBandSet,
    Zone,
    ZoneTable,
    ZoneType,
)

# --- brands and tax -------------------------------------------------------------------------


@write_schema(api.BrandInput, api.BrandSerializer)
class BrandViewSet(CatalogWriteMixin, CatalogViewSet):
    """Brands: the MVNO's own and the sub-brands or resellers it hosts."""

    queryset = Brand.objects.select_related("parent")
    serializer_class = api.BrandSerializer
    input_serializer_class = api.BrandInput
    filterset_class = filters.BrandFilter

    def current(self, brand):
        return {"code": brand.code, "name": brand.name, "parent": brand.parent}

    def save(self, brand, data):
        return services.brand_save(
            code=data["code"],
            name=data["name"],
            parent=data.get("parent"),
            brand=brand,
            acting_user=self.request.user,
        )


@write_schema(api.TaxCategoryInput, api.TaxCategorySerializer)
class TaxCategoryViewSet(CatalogWriteMixin, CatalogViewSet):
    """Tax categories: kinds of charges that a tax region rates alike."""

    queryset = TaxCategory.objects.all()
    serializer_class = api.TaxCategorySerializer
    input_serializer_class = api.TaxCategoryInput
    filterset_class = filters.TaxCategoryFilter

    def current(self, category):
        return {"code": category.code, "name": category.name}

    def save(self, category, data):
        return services.tax_category_save(
            code=data["code"], name=data["name"], category=category, acting_user=self.request.user
        )


@write_schema(api.TaxRegionInput, api.TaxRegionSerializer)
class TaxRegionViewSet(CatalogWriteMixin, CatalogViewSet):
    """Tax regions with their rates per category and date (set rates with ``taxRate``)."""

    queryset = TaxRegion.objects.prefetch_related(
        Prefetch("rates", queryset=TaxRate.objects.select_related("category"))
    )
    serializer_class = api.TaxRegionSerializer
    input_serializer_class = api.TaxRegionInput
    filterset_class = filters.TaxRegionFilter

    def current(self, region):
        return {"code": region.code, "name": region.name}

    def save(self, region, data):
        return services.tax_region_save(
            code=data["code"], name=data["name"], region=region, acting_user=self.request.user
        )


@write_schema(api.TaxRateInput, api.TaxRateSerializer, update=False)
class TaxRateViewSet(CatalogViewSet):
    """Tax rates: the rate of a category in a region from a date on, until the next one.

    POST sets the rate of (region, category, validFrom); posting the same three again
    replaces its rate.
    """

    queryset = TaxRate.objects.select_related("region", "category")
    serializer_class = api.TaxRateSerializer
    filterset_class = filters.TaxRateFilter
    filter_backends = [DjangoFilterBackend]
    error_fields = {"region": "taxRegion", "category": "taxCategory"}

    def create(self, request, *args, **kwargs):
        data = self.read_input(api.TaxRateInput)
        with service_errors(self.error_fields):
            tax_rate = services.tax_rate_set(
                region=data["region"],
                category=data["category"],
                rate=data["rate"],
                valid_from=data["valid_from"],
                acting_user=request.user,
            )
        return self.represent(tax_rate, status.HTTP_201_CREATED)


# --- zones ----------------------------------------------------------------------------------


@write_schema(
    api.ZoneTableInput,
    api.ZoneTableSerializer,
    lookup=extend_schema(
        parameters=[api.ZoneLookupQuery],
        responses={200: api.ZoneLookupSerializer},
        description=(
            "Find the destination zone of a number (longest listed prefix, else the rest "
            "zone) and/or the roaming zone of a visited network (HOME on the sender's own "
            "network, else MCC+MNC, then MCC, then the rest zone), as rating does (R7a). A "
            "null zone means none applies: rating would put the event in error (R7)."
        ),
    ),
    clone=extend_schema(request=api.RateCardCloneInput, responses={201: api.ZoneTableSerializer}),
)
class ZoneTableViewSet(CatalogWriteMixin, CatalogViewSet):
    """Zone tables (numbering plans) with their zones and each zone's prefixes or networks."""

    queryset = ZoneTable.objects.prefetch_related("zones__members")
    serializer_class = api.ZoneTableSerializer
    input_serializer_class = api.ZoneTableInput
    filterset_class = filters.ZoneTableFilter

    def current(self, table):
        return {"code": table.code, "name": table.name, "description": table.description}

    def save(self, table, data):
        return services.zone_table_save(
            code=data["code"],
            name=data["name"],
            description=data.get("description", ""),
            table=table,
            acting_user=self.request.user,
        )

    @action(detail=True, methods=["post"], required_permission="catalog.add_zonetable")
    def clone(self, request, pk=None):
        """Copy the table with its zones into a new table that can be edited (R7a)."""
        table = self.get_object()
        data = self.read_input(api.RateCardCloneInput)
        with service_errors(self.error_fields):
            clone = services.zone_table_clone(
                table=table, code=data["code"], name=data["name"], acting_user=request.user
            )
        return self.represent(clone, status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"], url_path="lookup")
    def lookup(self, request, pk=None):
        """Find the zones of a number and of a visited network in this table (R7a)."""
        table = self.get_object()
        query = api.ZoneLookupQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        if "number" not in params and "visitedPlmn" not in params:
            raise serializers.ValidationError({"number": ["give a number, a visitedPlmn, or both"]})
        home = self._home_plmns(request, params)
        index = ZoneIndex.from_table(table)
        zones = {(zone.zone_type, zone.code): zone for zone in table.zones.all()}
        number = params["number"].lstrip("+") if "number" in params else None
        visited = params.get("visitedPlmn")
        destination = index.destination(number) if number is not None else None
        roaming = index.roaming(visited, home) if visited is not None else None
        result = SimpleNamespace(
            zoneTable=table,
            number=number,
            destinationZone=zones.get((ZoneType.DESTINATION, destination)),
            visitedPlmn=visited,
            homePlmn=sorted(home),
            roamingZone=zones.get((ZoneType.ROAMING, roaming)),
        )
        return Response(api.ZoneLookupSerializer(result, context={"request": request}).data)

    @staticmethod
    def _home_plmns(request, params) -> set[str]:
        if "hostNetwork" in params:
            network = HostNetwork.objects.filter(pk=params["hostNetwork"]).first()
            if network is None:
                raise serializers.ValidationError(
                    {"hostNetwork": [f"no host network with id {params['hostNetwork']}"]}
                )
            return set(network.plmn_codes)
        home = {
            code.strip()
            for raw in request.query_params.getlist("homePlmn")
            for code in raw.split(",")
            if code.strip()
        }
        bad = sorted(code for code in home if not code.isdigit() or len(code) not in (5, 6))
        if bad:
            raise serializers.ValidationError(
                {"homePlmn": [f"not an MCC+MNC of 5 or 6 digits: {', '.join(bad)}"]}
            )
        return home


@write_schema(api.ZoneInput, api.ZoneSerializer)
class ZoneViewSet(CatalogDeleteMixin, CatalogWriteMixin, CatalogViewSet):
    """Zones of a zone table: destination zones by prefix, roaming zones by network (R7a).

    Writing a zone replaces its prefixes or networks; a prefix or network that another zone
    of the table lists is refused. A zone that rates or allowances name is not deleted.
    """

    queryset = Zone.objects.select_related("table").prefetch_related("members")
    serializer_class = api.ZoneSerializer
    input_serializer_class = api.ZoneInput
    filterset_class = filters.ZoneFilter
    error_fields = {"table": "zoneTable"}

    def current(self, zone):
        return {
            "table": zone.table,
            "zone_type": zone.zone_type,
            "code": zone.code,
            "name": zone.name,
            "kind": zone.kind,
            "members": [member.value for member in zone.members.all()],
        }

    def save(self, zone, data):
        return services.zone_save(
            table=data["table"],
            zone_type=data["zone_type"],
            code=data["code"],
            name=data.get("name", ""),
            kind=data["kind"],
            members=data.get("members", []),
            zone=zone,
            acting_user=self.request.user,
        )

    def remove(self, zone):
        services.zone_delete(zone=zone, acting_user=self.request.user)


# --- time bands -----------------------------------------------------------------------------


@write_schema(api.TimeBandSetInput, api.TimeBandSetSerializer)
class TimeBandSetViewSet(CatalogWriteMixin, CatalogViewSet):
    """Time band sets: weekly windows that together cover every minute of the week (R8).

    Writing a set replaces its bands and windows; overlaps and gaps are refused.
    """

    queryset = TimeBandSet.objects.prefetch_related("bands__windows")
    serializer_class = api.TimeBandSetSerializer
    input_serializer_class = api.TimeBandSetInput
    filterset_class = filters.TimeBandSetFilter
    error_fields = {"timezone_name": "timezone"}

    def current(self, band_set):
        return {
            "code": band_set.code,
            "name": band_set.name,
            "timezone": band_set.timezone,
            "bands": [
                {
                    "code": band.code,
                    "name": band.name,
                    "is_rest": band.is_rest,
                    "windows": [
                        {"days": w.days, "start_time": w.start_time, "end_time": w.end_time}
                        for w in band.windows.all()
                    ],
                }
                for band in band_set.bands.all()
            ],
        }

    def save(self, band_set, data):
        bands = [
            {
                "code": band["code"],
                "name": band.get("name", ""),
                "is_rest": band.get("is_rest", False),
                "windows": [dict(window) for window in band.get("windows", [])],
            }
            for band in data["bands"]
        ]
        return services.time_band_set_save(
            code=data["code"],
            name=data["name"],
            timezone_name=data["timezone"],
            bands=bands,
            band_set=band_set,
            acting_user=self.request.user,
        )


class TimeBandViewSet(CatalogViewSet):
    """Time bands with their windows (written through their ``timeBandSet``)."""

    queryset = TimeBand.objects.select_related("band_set").prefetch_related("windows")
    serializer_class = api.TimeBandSerializer
    filterset_class = filters.TimeBandFilter


# --- host networks --------------------------------------------------------------------------


@write_schema(
    api.HostNetworkInput,
    api.HostNetworkSerializer,
    tariff=extend_schema(
        request=api.HostNetworkTariffInput, responses={201: api.HostNetworkSerializer}
    ),
)
class HostNetworkViewSet(CatalogWriteMixin, CatalogViewSet):
    """Host networks (MNOs) with their wholesale tariffs in force by date (R14)."""

    queryset = HostNetwork.objects.prefetch_related(
        Prefetch(
            "tariffs",
            queryset=HostNetworkTariff.objects.select_related("rate_card").order_by(
                "effective_from"
            ),
        )
    )
    serializer_class = api.HostNetworkSerializer
    input_serializer_class = api.HostNetworkInput
    filterset_class = filters.HostNetworkFilter

    def current(self, network):
        return {
            "code": network.code,
            "name": network.name,
            "plmn_codes": network.plmn_codes,
            "country_code": network.country_code,
        }

    def save(self, network, data):
        return services.host_network_save(
            code=data["code"],
            name=data["name"],
            plmn_codes=data["plmn_codes"],
            country_code=data["country_code"],
            host_network=network,
            acting_user=self.request.user,
        )

    @action(detail=True, methods=["post"], required_permission="catalog.add_hostnetworktariff")
    def tariff(self, request, pk=None):
        """Put a published wholesale card in force for this network from an instant on."""
        network = self.get_object()
        data = self.read_input(api.HostNetworkTariffInput)
        with service_errors(self.error_fields):
            services.host_network_tariff_set(
                host_network=network,
                rate_card=data["rate_card"],
                effective_from=data["effective_from"],
                sim_fee=data["sim_fee"],
                platform_fee=data["platform_fee"],
                minimum_commitment=data["minimum_commitment"],
                acting_user=request.user,
            )
        return self.represent(network, status.HTTP_201_CREATED)
