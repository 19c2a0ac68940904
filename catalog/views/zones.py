"""Console pages of zone tables: destination and roaming zones, their members, a zone finder."""

from django.db.models import Count, Q
from django.http import Http404
from django.urls import reverse, reverse_lazy

from catalog import services
from catalog.filters import ZoneTableFilter
from catalog.forms import ZoneForm, ZoneLookupForm, ZoneTableCloneForm, ZoneTableForm
from catalog.lookup import ZoneIndex
from catalog.models import Zone, ZoneKind, ZoneTable, ZoneType
from catalog.selectors import zone_table_frozen, zones_named
from catalog.tables import ZoneTableTable
from catalog.views.base import (
    CatalogActionView,
    CatalogCloneView,
    CatalogCreateView,
    CatalogDetailView,
    CatalogListView,
    CatalogUpdateView,
    ChildCreateView,
    ChildUpdateView,
)


class ZoneTableListView(CatalogListView):
    model = ZoneTable
    table_class = ZoneTableTable
    filterset_class = ZoneTableFilter
    create_url = reverse_lazy("catalog:zonetable-create")

    def get_queryset(self):
        return ZoneTable.objects.annotate(
            destination_count=Count("zones", filter=Q(zones__zone_type=ZoneType.DESTINATION)),
            roaming_count=Count("zones", filter=Q(zones__zone_type=ZoneType.ROAMING)),
        )


def _zones_of(table: ZoneTable, zone_type: str) -> list[Zone]:
    zones = table.zones.filter(zone_type=zone_type).prefetch_related("members")
    return sorted(zones, key=lambda zone: (zone.kind != ZoneKind.LISTED, zone.code))


def zone_lookup(table: ZoneTable, form: ZoneLookupForm) -> list[dict]:
    """Answer the finder box as the rating engine would (R7a): which zone, and why."""
    if not form.is_bound or not form.is_valid():
        return []
    index = ZoneIndex.from_table(table)
    answers = []
    number = form.cleaned_data["number"]
    if number:
        zone = index.destination(number)
        prefixes = [
            value
            for value in table.members.filter(zone_type=ZoneType.DESTINATION).values_list(
                "value", flat=True
            )
            if number.startswith(value)
        ]
        if zone is None:
            reason = "no listed prefix and no zone for everything else: a rating error (R7)"
        elif prefixes:
            reason = f"longest listed prefix {max(prefixes, key=len)}"
        else:
            reason = "no listed prefix: the zone for everything else"
        answers.append({"asked": f"number {number}", "zone": zone, "reason": reason})
    network = form.cleaned_data["network"]
    if network:
        host = form.cleaned_data["host_network"]
        home_plmns = set(host.plmn_codes) if host else set()
        zone = index.roaming(network, home_plmns)
        if network in home_plmns:
            reason = f"a network of {host.code}, which sent the record"
        elif zone is None:
            reason = "not listed, and no zone for everything else: a rating error (R7)"
        elif table.members.filter(zone_type=ZoneType.ROAMING, value=network).exists():
            reason = f"MCC+MNC {network} is listed"
        elif table.members.filter(zone_type=ZoneType.ROAMING, value=network[:3]).exists():
            reason = f"its country (MCC {network[:3]}) is listed"
        else:
            reason = "not listed: the zone for everything else"
        answers.append({"asked": f"visited network {network}", "zone": zone, "reason": reason})
    return answers


class ZoneTableDetailView(CatalogDetailView):
    model = ZoneTable
    template_name = "catalog/zonetable_detail.html"
    fields = ["code", "name", "description"]

    def get_actions(self):
        actions = []
        if self.can("change"):
            url = reverse("catalog:zonetable-edit", args=[self.object.pk])
            actions.append({"label": "Edit", "url": url})
        if self.can("add"):
            url = reverse("catalog:zonetable-clone", args=[self.object.pk])
            actions.append({"label": "Clone", "url": url})
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        table = self.object
        lookup_form = ZoneLookupForm(self.request.GET if self._asks_lookup() else None)
        # Offer only what the services accept: the zones of a table that published cards price
        # with never change (R7a), and a zone that rates or allowances name is kept.
        frozen = zone_table_frozen(table)
        context.update(
            notice=(
                "Published rate cards use this table: its zones never change. Clone it to make "
                "a corrected copy for new cards."
                if frozen
                else None
            ),
            zones_named=zones_named(table),
            destination_zones=_zones_of(table, ZoneType.DESTINATION),
            roaming_zones=_zones_of(table, ZoneType.ROAMING),
            rate_cards=table.rate_cards.order_by("code"),
            lookup_form=lookup_form,
            lookup_answers=zone_lookup(table, lookup_form),
            can_add_zone=not frozen and self.can("add", Zone),
            can_change_zone=not frozen and self.can("change", Zone),
            can_delete_zone=not frozen and self.can("delete", Zone),
        )
        return context

    def _asks_lookup(self) -> bool:
        return any(self.request.GET.get(name) for name in ("number", "network"))


class ZoneTableCreateView(CatalogCreateView):
    model = ZoneTable
    form_class = ZoneTableForm

    def save(self, form):
        data = form.cleaned_data
        return services.zone_table_save(
            code=data["code"],
            name=data["name"],
            description=data["description"],
            acting_user=self.request.user,
        )


class ZoneTableUpdateView(CatalogUpdateView):
    model = ZoneTable
    form_class = ZoneTableForm

    def save(self, form):
        data = form.cleaned_data
        return services.zone_table_save(
            code=data["code"],
            name=data["name"],
            description=data["description"],
            table=self.stored(),
            acting_user=self.request.user,
        )


class ZoneCreateView(ChildCreateView):
    """Add a destination zone (prefixes) or a roaming zone (networks) to a table."""

    model = Zone
    parent_model = ZoneTable
    form_class = ZoneForm

    def dispatch(self, request, *args, **kwargs):
        self.zone_type = kwargs["zone_type"]
        if self.zone_type not in ZoneType.values:
            raise Http404("no such zone type")
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["zone_type"] = self.zone_type
        kwargs["instance"] = Zone(table=self.parent, zone_type=self.zone_type)
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"New {self.zone_type} zone of {self.parent}"
        return context

    def save(self, form):
        data = form.cleaned_data
        return services.zone_save(
            table=self.parent,
            zone_type=self.zone_type,
            code=data["code"],
            name=data["name"],
            kind=data["kind"],
            members=data["members"],
            acting_user=self.request.user,
        )


class ZoneUpdateView(ChildUpdateView):
    model = Zone
    form_class = ZoneForm
    parent_attribute = "table"

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["zone_type"] = self.object.zone_type
        return kwargs

    def save(self, form):
        data = form.cleaned_data
        zone = self.stored()
        return services.zone_save(
            table=zone.table,
            zone_type=zone.zone_type,
            code=data["code"],
            name=data["name"],
            kind=data["kind"],
            members=data["members"],
            zone=zone,
            acting_user=self.request.user,
        )


class ZoneDeleteView(CatalogActionView):
    model = Zone
    permission_action = "delete"
    verb = "Delete"
    danger = True
    explanation = "The zone and its members go; a zone named by rates or allowances is kept."

    def get_return_url(self) -> str:
        return self.object.table.get_absolute_url()

    def perform(self, zone):
        services.zone_delete(zone=zone, acting_user=self.request.user)


class ZoneTableCloneView(CatalogCloneView):
    model = ZoneTable
    form_class = ZoneTableCloneForm
    intro = (
        "The new table has the same zones and members and can be edited until a published "
        "rate card uses it."
    )

    def get_initial(self):
        return {"code": f"{self.object.code}-NEW"[:32]}

    def perform(self, form):
        return services.zone_table_clone(
            table=self.object,
            code=form.cleaned_data["code"],
            name=form.cleaned_data["name"],
            acting_user=self.request.user,
        )
