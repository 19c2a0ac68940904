"""What every console page of the subscribers app shares.

The console pattern (core.console.views) with the subscribers' additions: every object is looked
up through the brand-scoping selectors, so another brand's object is a 404; a service's refusal
lands on the form (or in a message), never in a 500; units and money are shown as an operator
reads them.
"""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views import generic

from core.console.formats import readable_quantity
from core.console.views import ConsoleActionView, ModelPermissionMixin
from subscribers import services


def add_service_errors(form, error: ValidationError) -> None:
    """Put a service's refusal on the form: on the field it names, else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, errors in error.error_dict.items():
        texts = [text for item in errors for text in item.messages]
        if field != NON_FIELD_ERRORS and field in form.fields:
            form.add_error(field, texts)
        else:
            form.add_error(None, texts)


def money_text(amount: Decimal | None) -> str:
    """Show an amount with at least two decimals and every significant one (no rounding)."""
    if amount is None:
        return "—"
    text = f"{Decimal(amount):f}"
    whole, _, decimals = text.partition(".")
    decimals = decimals.rstrip("0")
    return f"{whole}.{decimals.ljust(2, '0')}"


def instant_text(instant) -> str | None:
    """Show an instant in the console's time zone, to the minute."""
    if instant is None:
        return None
    return timezone.localtime(instant).strftime("%Y-%m-%d %H:%M")


# A bucket's base unit as core.console.formats names it.
BASE_UNITS = {"BYTE": "B", "SECOND": "s", "MESSAGE": "SMS", "EVENT": "events"}


def units_text(quantity: int, unit: str) -> str:
    """Show a bucket quantity as every page does (``2.00 GB``, ``1:35 min``, ``3 SMS``)."""
    return readable_quantity(quantity, BASE_UNITS.get(unit, unit.lower()))


def bucket_rows(buckets) -> list[dict]:
    """Each bucket with what is left of it (services.bucket_remaining), ready to show."""
    from subscribers.ledger import ledger_rows

    rows = []
    for bucket in buckets:
        remaining = services.bucket_remaining(bucket)
        movements = ledger_rows(list(getattr(bucket, "recent_movements", ())))
        for movement in movements:
            movement.quantity_text = units_text(movement.movement.quantity, bucket.unit)
        rows.append(
            {
                "bucket": bucket,
                "movements": movements,
                "initial": units_text(bucket.initial, bucket.unit),
                "remaining": units_text(remaining, bucket.unit),
                "remaining_units": remaining,
                "used_up": remaining <= 0,
            }
        )
    return rows


class ServiceFormView(ModelPermissionMixin, generic.FormView):
    """A form about one object (an account, a subscription) that calls one service.

    ``get_target`` finds the object through a brand-scoping selector (404 outside the user's
    brands); ``perform`` calls the service and returns the success message; a refusal comes
    back onto the form.
    """

    template_name = "subscribers/form.html"
    permission_action = "add"
    title = ""
    intro = ""
    submit_label = "Save"
    danger = False

    def get_target(self):
        raise NotImplementedError

    def refusal(self) -> str | None:
        """Say why the form cannot be used on the target now (shown instead of the form)."""
        return None

    def get(self, request, *args, **kwargs):
        self.target = self.get_target()
        reason = self.refusal()
        if reason:
            messages.error(request, reason)
            return HttpResponseRedirect(self.target.get_absolute_url())
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.target = self.get_target()
        return super().post(request, *args, **kwargs)

    def get_success_url(self) -> str:
        return self.target.get_absolute_url()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=f"{self.title} · {self.target}",
            intro=self.intro,
            submit_label=self.submit_label,
            danger=self.danger,
            cancel_url=self.target.get_absolute_url(),
            target=self.target,
        )
        return context

    def perform(self, form) -> str:
        """Call the service with the form's data; return the message shown on success."""
        raise NotImplementedError

    def form_valid(self, form):
        try:
            message = self.perform(form)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, message)
        return HttpResponseRedirect(self.get_success_url())


class ReturningActionView(ConsoleActionView):
    """A confirmed action (GET asks, POST does) that returns to ``get_return_url``.

    ``refusal`` may say, before asking, why the action cannot be taken now; the service has the
    last word on POST and its refusal is shown as a message.
    """

    def get_return_url(self) -> str:
        return self.object.get_absolute_url()

    def refusal(self) -> str | None:
        return None

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        reason = self.refusal()
        if reason:
            messages.error(request, reason)
            return HttpResponseRedirect(self.get_return_url())
        return render(
            request,
            self.template_name,
            {
                "object": self.object,
                "title": f"{self.verb} {self.object}",
                "verb": self.verb,
                "explanation": self.explanation,
                "danger": self.danger,
                "cancel_url": self.get_return_url(),
            },
        )

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        return_url = self.get_return_url()
        try:
            self.perform(self.object)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return HttpResponseRedirect(return_url)
        messages.success(request, self.success_message())
        return HttpResponseRedirect(return_url)

    def success_message(self) -> str:
        return f"{self.verb}: {self.object}"
