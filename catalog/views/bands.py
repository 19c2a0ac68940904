"""Console pages of time band sets: bands and their weekly windows (R8)."""

import re

from django.core.exceptions import ValidationError
from django.urls import reverse, reverse_lazy

from catalog import services
from catalog.filters import TimeBandSetFilter
from catalog.forms import TimeBandSetForm, format_band_lines, format_window
from catalog.models import TimeBandSet
from catalog.selectors import band_set_frozen
from catalog.tables import TimeBandSetTable
from catalog.views.base import (
    CatalogCreateView,
    CatalogDetailView,
    CatalogListView,
    CatalogUpdateView,
    visible_or_404,
)

BAND_PATH = re.compile(r"^bands\[(\d+)\](?:\.windows\[(\d+)\])?")


class TimeBandSetListView(CatalogListView):
    model = TimeBandSet
    table_class = TimeBandSetTable
    filterset_class = TimeBandSetFilter
    create_url = reverse_lazy("catalog:timebandset-create")

    def get_queryset(self):
        return TimeBandSet.objects.prefetch_related("bands")


def frozen_notice(band_set: TimeBandSet) -> str | None:
    """Say why a band set cannot change: published rate cards price by its bands."""
    if band_set_frozen(band_set):
        return "Published rate cards use this band set — it cannot change; clone it for a new card."
    return None


class TimeBandSetDetailView(CatalogDetailView):
    model = TimeBandSet
    template_name = "catalog/timebandset_detail.html"
    fields = ["code", "name", "timezone"]

    def get_actions(self):
        actions = []
        if self.can("change") and not band_set_frozen(self.object):
            url = reverse("catalog:timebandset-edit", args=[self.object.pk])
            actions.append({"label": "Edit", "url": url})
        if self.can("add"):
            url = reverse("catalog:timebandset-clone", args=[self.object.pk])
            actions.append({"label": "Clone", "url": url})
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        bands = list(self.object.bands.prefetch_related("windows").order_by("is_rest", "code"))
        for band in bands:
            band.window_texts = [format_window(window) for window in band.windows.all()]
        context["bands"] = bands
        context["rate_cards"] = self.object.rate_cards.order_by("code")
        context["band_text"] = format_band_lines(self.object)
        context["notice"] = frozen_notice(self.object)
        return context


def _line_errors(form, error: ValidationError) -> ValidationError:
    """Name the line of the band text that a service refusal is about."""
    if not hasattr(error, "error_dict"):
        return error
    errors: dict[str, list[str]] = {}
    for key, items in error.error_dict.items():
        texts = [text for item in items for text in item.messages]
        match = BAND_PATH.match(key)
        if match is None:
            errors.setdefault(key, []).extend(texts)
            continue
        origin = form.band_origins[int(match.group(1))]
        line = origin["line"] if match.group(2) is None else origin["windows"][int(match.group(2))]
        errors.setdefault("bands", []).extend(f"line {line}: {text}" for text in texts)
    return ValidationError(errors)


class BandSetSaveMixin:
    intro = (
        "Bands are weekly windows in the set's time zone; an event takes the band of its start "
        "time (R8). The week must be covered exactly once."
    )

    def save_band_set(self, form, band_set=None):
        data = form.cleaned_data
        try:
            return services.time_band_set_save(
                code=data["code"],
                name=data["name"],
                timezone_name=data["timezone"],
                bands=data["bands"],
                band_set=band_set,
                acting_user=self.request.user,
            )
        except ValidationError as error:
            raise _line_errors(form, error) from error


class TimeBandSetCreateView(BandSetSaveMixin, CatalogCreateView):
    model = TimeBandSet
    form_class = TimeBandSetForm

    def save(self, form):
        return self.save_band_set(form)


class TimeBandSetCloneView(TimeBandSetCreateView):
    """A new band set that starts as a copy of another (whose cards may be published)."""

    def dispatch(self, request, *args, **kwargs):
        self.source = visible_or_404(self.request, TimeBandSet, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {
            "code": "",
            "name": f"Copy of {self.source.name}",
            "timezone": self.source.timezone,
            "bands": format_band_lines(self.source),
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title=f"Clone {self.source}", cancel_url=self.source.get_absolute_url())
        return context


class TimeBandSetUpdateView(BandSetSaveMixin, CatalogUpdateView):
    model = TimeBandSet
    form_class = TimeBandSetForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["notice"] = frozen_notice(self.object)
        return context

    def save(self, form):
        return self.save_band_set(form, band_set=self.stored())
