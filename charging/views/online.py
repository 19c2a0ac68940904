"""Online charging on the console: live sessions, their reservations, a forced release."""

from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views import generic
from django.views.generic.detail import SingleObjectMixin
from django_tables2 import RequestConfig

from charging.online.filters import ChargingSessionFilter
from charging.online.models import ChargingSession, SessionStatus
from charging.online.selectors import charging_sessions_visible_to
from charging.online.services import ChargingError, charging_session_release
from charging.online.tables import ChargingRequestTable, ChargingSessionTable, ReservationTable
from core.console.views import ConsoleDetailView, ConsoleListView, ModelPermissionMixin


class ChargingSessionListView(ConsoleListView):
    """Online charging sessions; the menu opens the live ones (status active)."""

    model = ChargingSession
    table_class = ChargingSessionTable
    filterset_class = ChargingSessionFilter
    title = "Charging sessions"
    export_name = "charging-sessions"

    def get_queryset(self):
        return charging_sessions_visible_to(self.request.user)

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        if not self.request.GET:  # the menu's entry: the live sessions
            kwargs["data"] = {"status": SessionStatus.ACTIVE}
        return kwargs

    def get_title(self) -> str:
        live = not self.request.GET or self.request.GET.get("status") == SessionStatus.ACTIVE
        return "Live sessions" if live else self.title


class ChargingSessionDetailView(ConsoleDetailView):
    """A session: who, what, since when, what it holds, each reservation and request."""

    model = ChargingSession
    template_name = "charging/chargingsession_detail.html"
    fields = [
        "status", "refusal", "host_network", "session_id", "charging_id", "msisdn", "imsi",
        "subscription", "billing_account", "service", "other_party", "visited_plmn", "apn",
        "started_at", "last_request_at", "expires_at", "ended_at", "granted_units",
        "used_units", "usage_event", "end_reason",
    ]  # fmt: skip

    def get_queryset(self):
        return charging_sessions_visible_to(self.request.user)

    def get_actions(self):
        session = self.object
        if session.status == SessionStatus.ACTIVE and self.can("change"):
            url = reverse("charging:chargingsession-release", args=[session.pk])
            return [{"label": "Force release", "url": url, "style": "danger"}]
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        session = self.object
        config = RequestConfig(self.request, paginate=False)
        reservations = ReservationTable(session.reservations.order_by("id"), prefix="r-")
        requests = ChargingRequestTable(session.requests.order_by("request_number"), prefix="q-")
        config.configure(reservations)
        config.configure(requests)
        context.update(
            title=f"Charging session {session}",
            reservations=reservations,
            requests=requests,
            usage_event_url=(
                reverse("charging:usageevent-detail", args=[session.usage_event_id])
                if session.usage_event_id
                else None
            ),
        )
        return context


class ReleaseForm(forms.Form):
    reason = forms.CharField(
        max_length=150,
        label="Why is the session released?",
        help_text="Kept on the session with your name, e.g. the network lost the session.",
    )


class ChargingSessionReleaseView(ModelPermissionMixin, SingleObjectMixin, generic.FormView):
    """Force-release a stuck session: what was used is charged, the rest is released."""

    model = ChargingSession
    permission_action = "change"
    form_class = ReleaseForm
    template_name = "charging/form.html"

    def get_queryset(self):
        return charging_sessions_visible_to(self.request.user)

    def dispatch(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        session = self.object
        context.update(
            title=f"Force release {session}",
            intro=(
                f"The session of {session.msisdn or session.imsi} ({session.service}) started "
                f"{timezone.localtime(session.started_at):%Y-%m-%d %H:%M:%S} holds "
                f"{session.reserved_amount:f} and {session.reserved_units} units. Releasing it "
                f"charges the {session.used_units} units the network reported as used and "
                "gives back the rest; the network's next request on it is refused."
            ),
            submit_label="Release the session",
            cancel_url=session.get_absolute_url(),
        )
        return context

    def form_valid(self, form):
        try:
            charging_session_release(
                session=self.object, reason=form.cleaned_data["reason"],
                acting_user=self.request.user,
            )  # fmt: skip
        except ChargingError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        messages.success(self.request, f"Released: {self.object}")
        return HttpResponseRedirect(self.object.get_absolute_url())
