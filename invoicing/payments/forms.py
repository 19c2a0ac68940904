"""Forms of the payments console."""

import re

from django import forms
from django.utils import timezone

from invoicing.payments.models import PaymentMethod, ReturnReason


def invoice_numbers(text: str) -> list[str]:
    """The invoice numbers written in a field, separated by commas, spaces or new lines."""
    return [word for word in re.split(r"[\s,;]+", text or "") if word]


class PaymentRecordForm(forms.Form):
    account = forms.CharField(max_length=32, label="Account number")
    amount = forms.DecimalField(max_digits=20, decimal_places=2, min_value=0.01)
    currency = forms.CharField(max_length=3, initial="EUR")
    method = forms.ChoiceField(choices=PaymentMethod.choices, initial=PaymentMethod.BANK_TRANSFER)
    received_on = forms.DateField(
        label="Value date", widget=forms.DateInput(attrs={"type": "date"})
    )
    reference = forms.CharField(
        max_length=300, required=False, help_text="what the payer wrote on the transfer"
    )
    invoices = forms.CharField(
        max_length=500,
        required=False,
        label="Invoice numbers",
        help_text="the invoices the payer names, in order; empty: the oldest first",
    )
    payer_name = forms.CharField(max_length=200, required=False)
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["received_on"].initial = timezone.localdate()


class AllocateForm(forms.Form):
    invoices = forms.CharField(
        max_length=500, required=False, label="Invoice numbers",
        help_text="empty: the account's open invoices, oldest first",
    )  # fmt: skip


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=20, decimal_places=2, min_value=0.01)
    reason = forms.CharField(max_length=300)


class ReturnForm(forms.Form):
    reason_code = forms.ChoiceField(choices=ReturnReason.choices, label="Reason code")
    returned_on = forms.DateField(
        label="Returned on", widget=forms.DateInput(attrs={"type": "date"})
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300)


class StatementUploadForm(forms.Form):
    brand = forms.ModelChoiceField(queryset=None)
    file = forms.FileField(help_text="a CAMT.053 XML or an MT940 file, as the bank sent it")

    def __init__(self, *args, brands=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands


class LineMatchForm(forms.Form):
    account = forms.CharField(max_length=32, label="Account number")
    invoices = forms.CharField(
        max_length=500, required=False, label="Invoice numbers",
        help_text="empty: the account's open invoices, oldest first",
    )  # fmt: skip


class MandateForm(forms.Form):
    account = forms.CharField(max_length=32, label="Account number")
    reference = forms.CharField(max_length=35, label="Mandate reference")
    debtor_name = forms.CharField(max_length=70, label="Account holder")
    iban = forms.CharField(max_length=42, label="IBAN")
    bic = forms.CharField(max_length=11, required=False, label="BIC")
    signed_on = forms.DateField(label="Signed on", widget=forms.DateInput(attrs={"type": "date"}))


class CollectionForm(forms.Form):
    collection_date = forms.DateField(
        label="Collection date", widget=forms.DateInput(attrs={"type": "date"}),
        help_text="the day the customers' accounts are debited (after today)",
    )  # fmt: skip


class AgingForm(forms.Form):
    as_of = forms.DateField(
        required=False, label="As of", widget=forms.DateInput(attrs={"type": "date"})
    )
