"""Console form of a webhook endpoint: it validates input; the service decides and writes."""

from django import forms

from core.outbox.registry import event_types
from core.outbox.selectors import _brands_of, brand_choices_for


class WebhookEndpointForm(forms.Form):
    name = forms.CharField(max_length=200)
    url = forms.URLField(
        max_length=500,
        label="URL",
        assume_scheme="https",
        help_text="where the events are POSTed, http:// or https://",
    )
    brand = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="every brand (and the platform's own events)",
        help_text="the brand whose events it receives",
    )
    event_types = forms.MultipleChoiceField(
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Event types",
        help_text="none ticked: every event type, also those added later",
    )
    is_active = forms.BooleanField(
        required=False,
        initial=True,
        label="Active",
        help_text="a paused endpoint gets no new events and keeps its pending ones pending",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brand_choices_for(user)
        if _brands_of(user) is not None:  # limited to some brands: one of them
            self.fields["brand"].required = True
            self.fields["brand"].empty_label = None
        self.fields["event_types"].choices = [
            (name, f"{name} — {description}") for name, description in event_types().items()
        ]
