"""Forms of the settlement console."""

import json

from django import forms

from catalog.models import Brand, HostNetwork, Service
from settlement.models import Agreement, DisputeStatus, Partner


class PartnerForm(forms.ModelForm):
    class Meta:
        model = Partner
        fields = ["code", "name", "kind", "brand", "currency", "timezone", "host_network",
                  "partner_brand", "contact_name", "contact_email", "address", "vat_id",
                  "payment_terms_days"]  # fmt: skip
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, brands=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands if brands is not None else Brand.objects.all()
        self.fields["partner_brand"].queryset = self.fields["brand"].queryset
        self.fields["host_network"].queryset = HostNetwork.objects.order_by("code")


class CodesField(forms.CharField):
    """Codes separated by commas or spaces, stored as a list."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [code.strip().upper() for code in text.replace(",", " ").split() if code.strip()]


class AgreementForm(forms.ModelForm):
    plan_codes = CodesField(required=False, help_text="plan codes; empty: every plan")
    services = forms.MultipleChoiceField(
        required=False, choices=Service.choices, help_text="none chosen: every service"
    )
    brand_codes = CodesField(required=False, help_text="brand codes; empty: every brand")
    tiers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='progressive tiers as JSON, e.g. [{"from": "0", "percent": "10"}, '
        '{"from": "1000", "percent": "15"}]; empty: the flat percent',
    )

    class Meta:
        model = Agreement
        fields = ["partner", "code", "name", "kind", "effective_from", "effective_to",
                  "plan_codes", "services", "brand_codes", "basis", "percent", "tiers", "cap",
                  "floor", "tolerance_amount", "tolerance_percent"]  # fmt: skip
        widgets = {
            "effective_from": forms.DateInput(attrs={"type": "date"}),
            "effective_to": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, partners=None, **kwargs):
        super().__init__(*args, **kwargs)
        if partners is not None:
            self.fields["partner"].queryset = partners
        if self.instance.pk:
            self.initial["tiers"] = json.dumps(self.instance.tiers) if self.instance.tiers else ""

    def clean_tiers(self):
        text = (self.cleaned_data.get("tiers") or "").strip()
        if not text:
            return []
        try:
            value = json.loads(text)
        except ValueError:
            raise forms.ValidationError("JSON: a list of {from, percent}") from None
        return value


class RunForm(forms.Form):
    partner = forms.ModelChoiceField(queryset=Partner.objects.none())
    year = forms.IntegerField(min_value=2000, max_value=2100)
    month = forms.IntegerField(min_value=1, max_value=12)

    def __init__(self, *args, partners=None, **kwargs):
        super().__init__(*args, **kwargs)
        if partners is not None:
            self.fields["partner"].queryset = partners


class ReconciliationForm(forms.Form):
    partner = forms.ModelChoiceField(queryset=Partner.objects.none())
    file = forms.FileField(help_text="CSV: period, service, roaming_zone, units, amount")

    def __init__(self, *args, partners=None, **kwargs):
        super().__init__(*args, **kwargs)
        if partners is not None:
            self.fields["partner"].queryset = partners.filter(host_network__isnull=False)


class DisputeDecisionForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(value, label) for value, label in DisputeStatus.choices if value != "open"]
    )
    note = forms.CharField(max_length=300, required=False)


class StatementDisputeForm(forms.Form):
    note = forms.CharField(max_length=300, help_text="what the partner disputes")


class MarginForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100)
    month = forms.IntegerField(min_value=1, max_value=12)
    dimension = forms.ChoiceField(
        choices=[("plan", "per plan"), ("brand", "per brand"), ("partner", "per partner")]
    )
