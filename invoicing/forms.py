"""Forms of the invoicing console."""

from decimal import Decimal

from django import forms

from invoicing.models import BillCycle, DunningAction


class BillRunForm(forms.Form):
    cycle = forms.ModelChoiceField(queryset=BillCycle.objects.none())
    year = forms.IntegerField(min_value=2000, max_value=2999)
    month = forms.IntegerField(min_value=1, max_value=12)

    def __init__(self, *args, cycles=None, **kwargs):
        super().__init__(*args, **kwargs)
        if cycles is not None:
            self.fields["cycle"].queryset = cycles


class BillCycleForm(forms.Form):
    brand = forms.ModelChoiceField(queryset=None)
    cycle_day = forms.IntegerField(min_value=1, max_value=28)

    def __init__(self, *args, brands=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands


class CreditNoteForm(forms.Form):
    reason = forms.CharField(max_length=300)
    amount = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        decimal_places=2,
        help_text="empty: credit the whole invoice; else net (gross for a tax-inclusive "
        "invoice) at one of its tax rates",
    )
    tax_rate = forms.TypedChoiceField(required=False, coerce=Decimal, empty_value=None)

    def __init__(self, *args, rates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tax_rate"].choices = [("", "—")] + [
            (str(rate), f"{(rate * 100).normalize()} %") for rate in rates
        ]


class VoidForm(forms.Form):
    reason = forms.CharField(max_length=300)


class InvoiceArchiveForm(forms.Form):
    brand = forms.ModelChoiceField(queryset=None)
    year = forms.IntegerField(min_value=2000, max_value=2999)
    month = forms.IntegerField(min_value=1, max_value=12)

    def __init__(self, *args, brands=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands


# --- dunning (R30) ----------------------------------------------------------------------------


class DunningPolicyForm(forms.Form):
    brand = forms.ModelChoiceField(queryset=None)
    code = forms.CharField(
        max_length=32, help_text="what a billing account names in its dunning policy field"
    )
    name = forms.CharField(max_length=200)
    is_default = forms.BooleanField(
        required=False,
        label="The brand's default",
        help_text="followed by the brand's accounts that name no policy",
    )

    def __init__(self, *args, brands=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands


class DunningStepForm(forms.Form):
    action = forms.ChoiceField(choices=[("", "—")] + DunningAction.choices, required=False)
    days_after_due = forms.IntegerField(
        min_value=1, max_value=365, required=False, label="Days after the due date"
    )

    def clean(self):
        data = super().clean()
        if bool(data.get("action")) != (data.get("days_after_due") is not None):
            raise forms.ValidationError("a step names its action and its days, or neither")
        return data


DunningStepFormSet = forms.formset_factory(DunningStepForm, extra=2, max_num=12)


class DunningReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"size": 60}))
