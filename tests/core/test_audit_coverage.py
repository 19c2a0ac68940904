"""Every change to money or catalogue leaves a trace that the console shows.

Walks every console and API write in the URL configuration: the model it changes must be
audited (django-simple-history) or be an append-only record that keeps who and when in its own
columns. A new write view on an unaudited model fails here until it is audited or listed.
"""

from decimal import Decimal

import pytest
from django.urls import URLResolver, get_resolver

from catalog import services as catalog_services
from catalog.models import RateRow
from tests.catalog.factories import AddOnFactory

# Append-only records: each row says who made it and when, and is never edited in place.
LEDGERS = {
    "BalanceMovement": "created_by, created_at: a balance changes only by a new movement",
    "BucketMovement": "created_by, created_at: a bucket changes only by a new movement",
    "TopUp": "created_by, created_at",
    "SimBatch": "loaded_by, created_at: each SIM it loads is audited itself",
    "VoucherBatch": "created_by, created_at",
    "UsageFile": "received_by, received_at: kept as received (R16)",
    "RejectedRecord": "reprocessed_by, reprocessed_at: a reject is kept as received (R16)",
    "RerateJob": "created_by, created_at; every change it makes is a RerateChange row (R15)",
    "UsageEvent": "rated by the engine; a rerating's changes are RerateChange rows (R15)",
    "Reconciliation": "created_by, created_at: a snapshot of the chain, never changed (R33)",
    "WhatIfRun": "created_by, created_at: an outcome kept as computed, never changed",
    "FindingComment": "author, created_at: comments are only added",
    "InvoiceArchive": "created_by, created_at: a download of PDFs, built once, never edited",
    "DunningRecord": "taken_by, taken_at: a dunning step or lifted barring, never edited (R30)",
    "Payment": "created_by, created_at: money received is never edited; returns and refunds are "
    "their own rows",
    "PaymentAllocation": "created_by, created_at, reason: a correction is a negative row",
    "Refund": "created_by, created_at, reason",
    "PaymentReturn": "created_by, created_at, reason code",
    "BankStatement": "imported_by, imported_at: kept as imported (its lines are audited)",
    "SepaCollection": "created_by, created_at: the pain.008 file kept as sent",
}
# Writes whose view names no model: what each changes, and where that is audited.
WRITES_WITHOUT_A_MODEL = {
    "AdjustBalanceView": "BalanceMovement or BucketMovement (ledgers above)",
    "CatalogImportApi": "catalogue objects through the audited catalogue services",
    "CatalogImportView": "catalogue objects through the audited catalogue services",
    "UserCreateView": "users and roles (core.services, logged with the acting admin)",
    "UserRolesView": "users and roles (core.services, logged with the acting admin)",
    "VoucherRedeemView": "TopUp and BalanceMovement (ledgers above)",
}
WRITE_WORDS = ("Create", "Update", "Edit", "Action", "Delete", "Upload", "Publish", "Retire",
               "Reprocess", "Discard", "Rerate", "TopUp", "Adjust", "Redeem", "Roles", "Clone",
               "Import", "Swap", "Terminate", "Suspend", "Change", "Port", "Bar")  # fmt: skip
API_WRITES = {"create", "update", "partial_update", "destroy"}


def _views(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns)
        else:
            yield pattern.callback


def _model_of(view_class):
    model = getattr(view_class, "model", None)
    for holder in (getattr(view_class, "form_class", None),
                   getattr(view_class, "serializer_class", None)):  # fmt: skip
        if model is None and holder is not None:
            meta = getattr(holder, "_meta", None) or getattr(holder, "Meta", None)
            model = getattr(meta, "model", None)
    return model


def _writes():
    for callback in _views(get_resolver().url_patterns):
        view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        if view_class is None or view_class.__module__.startswith(("django.", "rest_framework")):
            continue
        actions = set((getattr(callback, "actions", None) or {}).values())
        name = view_class.__name__
        if actions & API_WRITES or (not actions and any(w in name for w in WRITE_WORDS)):
            yield name, _model_of(view_class)


def test_every_console_and_api_write_changes_only_audited_models_or_ledgers():
    unaudited = set()
    for name, model in _writes():
        if model is None:
            if name not in WRITES_WITHOUT_A_MODEL:
                unaudited.add(f"{name}: no model found; say what it writes")
        elif not hasattr(model, "history") and model.__name__ not in LEDGERS:
            unaudited.add(f"{name}: {model.__name__} is not audited")
    assert sorted(unaudited) == []


@pytest.mark.django_db
def test_a_price_changed_on_a_draft_cards_row_shows_on_the_card(
    golden_draft_catalog, console_client_for, operator, auditor
):
    card = golden_draft_catalog.retail_card
    row = RateRow.objects.filter(rate_card=card).order_by("id").first()
    old_price = row.price
    catalog_services.rate_row_save(
        rate_card=card,
        row=row,
        data={
            **{name: getattr(row, name) for name in catalog_services.ROW_FIELDS},
            "price": Decimal("0.11"),
            "destination_zones": list(row.destination_zones.all()),
            "roaming_zones": list(row.roaming_zones.all()),
        },
        acting_user=operator,
    )
    page = console_client_for(auditor).get(card.get_absolute_url())
    entries = page.context["history"]
    changed = [e for e in entries if e["action"].startswith("rate row") and e["changes"]]
    assert changed, [e["action"] for e in entries]
    latest = changed[0]
    assert latest["who"] == operator
    assert {"field": "price", "old": old_price, "new": Decimal("0.11"), "text": ""} in (
        latest["changes"]
    )
    assert "rate row" in page.content.decode()


@pytest.mark.django_db
def test_many_to_many_changes_read_as_names(golden_catalog, auditor, console_client_for):
    add_on = AddOnFactory()
    add_on.eligible_plans.add(golden_catalog.plan)
    page = console_client_for(auditor).get(add_on.get_absolute_url())
    texts = [c["text"] for e in page.context["history"] for c in e["changes"] if c["text"]]
    assert texts == [f"+ {golden_catalog.plan}"]
