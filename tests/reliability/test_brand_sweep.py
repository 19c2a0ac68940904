"""Brands are sealed: every API operation and console URL, tried by a one-brand operator.

An operator limited to the brand IPSUM (which owns nothing) calls every operation of the OpenAPI
schema (drf-spectacular's own generator) and every console URL (walked from the URL resolver)
with the path filled by objects of the brand LOREM (the golden October world: its plan, add-on,
promotion, customers, accounts, subscriptions, SIMs, buckets, usage files with events and
rejects, a sequence gap, a voucher batch, a rerating job). GET, and POST/PUT/PATCH/DELETE with a
plausible body (what an every-brand admin reads of the object, a console form as an admin sees
it filled). The sweep fails when an answer carries LOREM's data (2xx with its identifiers, or a
2xx on an object only LOREM owns, or a list that lists LOREM's objects) or when anything in the
business tables changed (a digest of every row of catalog, subscribers and charging).

A URL added later is swept without a change here; one whose path names something the sweep
cannot fill fails with a message saying what to add.
"""

import datetime as dt
import html.parser
import json
import re
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from rest_framework.test import APIClient

from assurance import models as assurance_models
from assurance import services as assurance_services
from catalog import models as catalog_models
from catalog import services as catalog_services
from charging import models as charging_models
from charging.online.models import ChargingNotification, NotificationKind
from charging.online.services import charging_initiate
from charging.rerating import rerate_job_create
from charging.services import usage_file_ingest
from core import models as core_models
from core import outbox
from invoicing import dunning as invoicing_dunning
from invoicing import models as invoicing_models
from invoicing import services as invoicing_services
from invoicing.documents import invoice_document_render
from invoicing.downloads import invoice_archive_build
from settlement import models as settlement_models
from settlement import services as settlement_services
from settlement.documents import statement_document_render
from subscribers import models as subscriber_models
from subscribers import services as subscriber_services

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
DATA = Path(__file__).resolve().parents[1] / "invoicing" / "data"
FILES = (
    "CDR_HOSTNET_20261101000500_000001.csv",
    "CDR_HOSTNET_20261101001000_000002.csv",
    "CDR_HOSTNET_20261101003000_000004.csv",  # 000003 never arrives: a sequence gap
)
BUSINESS_APPS = ("catalog", "subscribers", "charging", "invoicing", "settlement", "assurance")
# core's own tables that hold a brand's data: webhook endpoints and what was sent to them.
OUTBOX_MODELS = (
    core_models.WebhookEndpoint,
    core_models.OutboxEvent,
    core_models.WebhookDelivery,
    core_models.DeliveryAttempt,
)

# Objects every brand shares: readable by a one-brand operator (never changeable). Any other
# model's object of LOREM must answer 404/403 to them, and its lists must be empty.
SHARED_MODELS = {
    catalog_models.ZoneTable,
    catalog_models.Zone,
    catalog_models.TimeBandSet,
    catalog_models.TimeBand,
    catalog_models.TaxCategory,
    catalog_models.TaxRegion,
    catalog_models.TaxRate,
    catalog_models.RateCard,
    catalog_models.RateRow,
    catalog_models.HostNetwork,
    catalog_models.HostNetworkTariff,
    subscriber_models.SimBatch,  # SIM stock: loaded for every brand
}

# Console URLs that are brand-neutral by design, each with why.
CONSOLE_ALLOWED = {
    # The user's own session and token: nobody else's data, changes only their own token.
    "login",
    "logout",
    "account",
    "healthz",
    # The OpenAPI schema and its viewers describe operations, never data.
    "api-schema",
    "api-docs",
    "api-redoc",
}
# Console URL prefixes left out: the Django admin is a back door of superusers (who see every
# brand); a one-brand operator is not staff and is sent to its login (checked below).
# The 5G charging door (Nchf) answers a host network's own bearer token only, never a console
# user's session (401 without it: tests/charging/test_online_nchf.py).
CONSOLE_SKIPPED_PREFIXES = ("admin/", "api/v1/", "nchf-convergedcharging/")

# Objects of the sweep by URL keyword, for keywords that do not name the view's own model.
NAME_MODELS = {
    "user-roles": User,  # People: no brand of their own
    "catalog:user-brands": User,
    "invoicing:dunning-pause": subscriber_models.BillingAccount,  # pauses an account's dunning
}
KWARG_MODELS = {
    "customer_pk": subscriber_models.Customer,
    "account_pk": subscriber_models.BillingAccount,
    "addon_pk": subscriber_models.SubscriptionAddOn,
    "run_pk": invoicing_models.BillRun,
}
STR_KWARGS = {"zone_type": "destination"}


# --- the world: LOREM owns everything, IPSUM nothing ------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """LOREM's golden October world, an every-brand admin and an operator limited to IPSUM."""
    from django.db import transaction

    from tests.catalog.builders import build_golden_catalog
    from tests.catalog.factories import FairUsePolicyFactory
    from tests.subscribers.builders import build_golden_subscribers

    with django_db_blocker.unblock(), transaction.atomic():
        catalog = build_golden_catalog()
        subscribers = build_golden_subscribers(catalog)
        for name in FILES:
            usage_file_ingest(name=name, content=(SAMPLES / name).read_bytes(), origin="command")
        add_on = catalog_services.add_on_save(
            data={
                "code": "XTRA-GB",
                "name": "Extra gigabyte",
                "kind": catalog_models.AddOnKind.ONE_OFF,
                "price": Decimal("5"),
                "eligible_plans": [catalog.plan],
            }
        )
        promotion = catalog_services.promotion_save(
            data={
                "code": "WELCOME-5",
                "name": "Welcome",
                "discount_type": catalog_models.DiscountType.FIXED,
                "value": Decimal("5"),
                "periods": 1,
                "eligible_plans": [catalog.plan],
            }
        )
        batch, _ = subscriber_services.voucher_batch_create(
            reference="LOREM-VOUCHERS-7",
            brand=catalog.brand,
            value=Decimal("10"),
            currency="EUR",
            count=2,
        )
        FairUsePolicyFactory(plan_version=catalog.version)
        account = subscribers.accounts["A"]
        movement = subscriber_models.BalanceMovement.objects.create(
            billing_account=account,
            kind=subscriber_models.MovementKind.TOPUP,
            amount=Decimal("10"),
            currency="EUR",
            reason="top-up",
        )
        subscriber_models.TopUp.objects.create(
            billing_account=account,
            amount=Decimal("10"),
            currency="EUR",
            channel=subscriber_models.TopUpChannel.CARD,
            reference="LOREM-CARD-1",
            movement=movement,
        )
        subscription = subscribers.subscriptions["A"]
        add_on = catalog_services.add_on_publish(add_on=add_on)
        subscriber_services.subscription_add_on_add(subscription=subscription, add_on=add_on)
        rerate_job_create(
            scope=charging_models.RerateScope.SUBSCRIPTION,
            subscription=subscription,
            start=dt.datetime(2026, 9, 30, 22, tzinfo=dt.UTC),
            end=dt.datetime(2026, 10, 31, 23, tzinfo=dt.UTC),
            reason="sweep",
        )
        # LOREM's webhook endpoint and an event of LOREM's delivered to it (the outbox).
        core_models.WebhookEndpoint.objects.create(
            name="LOREM-HOOK", url="http://127.0.0.1:9/lorem-hook", brand=catalog.brand
        )
        outbox.publish(
            event_type="webhook.test", payload={"note": "sweep"}, brand=catalog.brand,
            subject="LOREM-EVENT",
        )  # fmt: skip
        # A call of LOREM's Anna charged online (answered or refused, a session of LOREM's),
        # and a threshold notification of her account.
        charging_initiate(
            host_network=catalog.host_network, session_id="lorem-call", msisdn="4915112340001",
            service="VOICE_OUT", requested_units=60, other_party="4915199999999",
        )  # fmt: skip
        ChargingNotification.objects.create(
            billing_account=subscribers.accounts["A"], subscription=subscribers.subscriptions["A"],
            kind=NotificationKind.values[0], key="lorem-sweep", detail="LOREM-NOTICE",
            created_at=dt.datetime(2026, 10, 20, tzinfo=dt.UTC),
        )  # fmt: skip
        # LOREM's October bill run: drafted, issued (numbered) and one invoice rendered.
        cycle = invoicing_services.bill_cycle_save(brand=catalog.brand, cycle_day=1)
        run = invoicing_services.bill_run_create(cycle=cycle, year=2026, month=10)
        run = invoicing_services.bill_run_execute(bill_run=run)
        invoicing_services.bill_run_issue(bill_run=run)
        first = invoicing_models.Invoice.objects.order_by("pk").first()
        invoice_document_render(invoice=first)
        # LOREM's settlement with its host network: a partner, an agreement, October's run
        # with its statement issued and rendered, HOSTNET's invoice reconciled (a dispute).
        partner = settlement_services.partner_save(
            brand=catalog.brand, code="LOREM-HOSTNET", name="Lorem's host network",
            kind="host_network", currency="EUR", host_network=catalog.host_network,
        )  # fmt: skip
        settlement_services.agreement_save(
            partner=partner, code="LOREM-WHOLESALE", name="Lorem wholesale", kind="wholesale",
            effective_from=dt.date(2026, 1, 1),
        )  # fmt: skip
        settlement_run = settlement_services.settlement_run_create(
            partner=partner, year=2026, month=10, run_now=True
        )
        statement = settlement_services.statement_issue(statement=settlement_run.statement)
        statement_document_render(statement=statement)
        settlement_services.reconciliation_import(
            partner=partner, file_name="LOREM-HOSTNET-INVOICE.csv",
            content=(SAMPLES.parent.parent / "settlement" / "samples"
                     / "HOSTNET_invoice_2026-10.csv").read_bytes(),
        )  # fmt: skip
        # October reconciled (findings of the usage chain, no brand) and a LOREM finding, and a
        # what-if of a draft SMART-10 version (assurance).
        outcome = assurance_services.reconciliation_run(year=2026, month=10)
        assurance_services.finding_comment_add(
            finding=outcome.findings[0], user=None, text="LOREM-NOTICE"
        )
        assurance_models.Finding.objects.create(
            fingerprint="lorem-sweep", kind=assurance_models.FindingKind.UNBILLED,
            brand=catalog.brand, period_start_date=dt.date(2026, 10, 1),
            title="LOREM-FINDING", first_seen_at=dt.datetime(2026, 11, 10, tzinfo=dt.UTC),
            last_seen_at=dt.datetime(2026, 11, 10, tzinfo=dt.UTC),
            records={"model": "charging.usageevent", "ids": []},
        )  # fmt: skip
        draft = catalog_services.plan_version_create(
            plan=catalog.plan,
            data={"rate_card": catalog.version.rate_card, "recurring_fee": Decimal("24.99"),
                  "tax_category": catalog.version.tax_category,
                  "effective_from": catalog.version.effective_from},
        )  # fmt: skip
        assurance_services.whatif_run(
            plan_version=draft, now=dt.datetime(2026, 11, 10, 9, tzinfo=dt.UTC)
        )
        # LOREM's dunning: a default policy, its invoices overdue with a reminder taken, an
        # account's dunning paused; and a ZIP of its October PDFs (an invoice archive).
        invoicing_dunning.dunning_policy_save(
            brand=catalog.brand, code="LOREM-DUNNING", name="Lorem dunning", is_default=True,
            steps=[{"action": invoicing_models.DunningAction.REMINDER, "days_after_due": 1}],
        )  # fmt: skip
        invoicing_dunning.dunning_run(today=first.due_date + dt.timedelta(days=2))
        invoicing_dunning.dunning_pause(
            billing_account=subscribers.accounts["B"], reason="sweep dispute"
        )
        archive = invoicing_models.InvoiceArchive.objects.create(
            brand=catalog.brand, period_year=2026, period_month=10
        )
        invoice_archive_build(archive=archive)
        # LOREM's top-up receipted (R29): a receipt of the receipt series.
        from invoicing.prepaid import receipts_issue

        receipts_issue()
        lorem_payments(catalog, run)
        ipsum = catalog_services.brand_save(code="IPSUM", name="Ipsum Mobile")
        admin = User.objects.create_superuser("sweep-admin", password="pw-Secret-123")
        operator = User.objects.create_user("ipsum-operator", password="pw-Secret-123")
        operator.groups.set(Group.objects.filter(name="operator"))
        catalog_models.BrandScope.objects.create(user=operator, brand=ipsum)
        yield SimpleNamespace(
            catalog=catalog,
            subscribers=subscribers,
            add_on=add_on,
            promotion=promotion,
            voucher_batch=batch,
            ipsum=ipsum,
            admin=admin,
            operator=operator,
            identifiers=lorem_identifiers(catalog, subscribers, batch),
        )
        transaction.set_rollback(True)


def lorem_payments(catalog, run) -> None:
    """LOREM's money: a payment with an allocation and a refund, a direct debit mandate and
    collection (with a returned payment), and a bank statement with lines in the queue."""
    from invoicing.demo import invoice_profile_create
    from invoicing.payments import bank, sepa
    from invoicing.payments import services as payments

    profile = invoice_profile_create(catalog.brand)
    profile.sepa_creditor_id = "DE98ZZZ09999999999"
    profile.save()
    invoices = list(invoicing_models.Invoice.objects.filter(bill_run=run, kind="invoice"))
    paid = invoices[0]
    payment = payments.payment_record(
        billing_account=paid.billing_account, amount=Decimal("5.00"), currency=paid.currency,
        method="bank_transfer", received_on=dt.date(2026, 11, 2), reference="LOREM-PAYMENT",
    )  # fmt: skip
    payments.refund_create(payment=payment, amount=Decimal("1.00"), reason="LOREM-REFUND")
    debtor = invoices[-1].billing_account
    sepa.sepa_mandate_create(
        billing_account=debtor, reference="LOREM-MANDATE-1", debtor_name="Lorem Debtor",
        iban="DE02100100100006820101", signed_on=dt.date(2026, 10, 1),
    )  # fmt: skip
    collection = sepa.sepa_collection_create(bill_run=run)
    payments.payment_return(payment=collection.payments.first(), reason_code="AM04")
    content = (DATA / "camt053_20261116.xml").read_bytes()
    bank.bank_statement_import(brand=catalog.brand, name="LOREM-STATEMENT.xml", content=content)


def lorem_identifiers(catalog, subscribers, batch) -> list[re.Pattern]:
    """What only LOREM's objects show: codes, numbers, MSISDNs, IMSIs, ICCIDs, file names."""
    words = {catalog.brand.code, "XTRA-GB", "WELCOME-5", batch.reference, "LOREM-HOOK",
             "LOREM-EVENT", "LOREM-NOTICE", "LOREM-HOSTNET", "LOREM-WHOLESALE",
             "LOREM-HOSTNET-INVOICE.csv", "LOREM-FINDING", "LOREM-DUNNING",
             "LOREM-PAYMENT", "LOREM-REFUND", "LOREM-MANDATE-1", "LOREM-STATEMENT.xml"}  # fmt: skip
    words |= set(
        settlement_models.Statement.objects.exclude(number="").values_list("number", flat=True)
    )
    words |= set(
        invoicing_models.Invoice.objects.exclude(number="").values_list("number", flat=True)
    )
    # Plans are not looked for by code: shared rate cards are named after them (SMART-10-2026);
    # a plan's own URLs must answer 404 and its lists be empty instead.
    for customer in subscribers.customers.values():
        words.add(customer.number)
    for account in subscribers.accounts.values():
        words.add(account.number)
    terms = subscriber_models.SubscriptionTerm.objects.select_related("sim")
    for term in terms:
        words |= {term.msisdn, term.imsi} - {""}
        if term.sim is not None:
            words.add(term.sim.iccid)
    words |= set(charging_models.UsageFile.objects.values_list("name", flat=True))
    words |= set(catalog_models.Plan.objects.values_list("name", flat=True))
    # A word is found alone, not inside a longer code (SMART-10 is not SMART-10-2026's).
    patterns = [re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])") for word in sorted(words)]
    # A link to a page of LOREM's own objects (a choice, a row of a table) shows them too.
    owned = {
        catalog_models.Plan: None,
        catalog_models.PlanVersion: None,
        catalog_models.AddOn: None,
        catalog_models.Promotion: None,
        subscriber_models.Customer: None,
        subscriber_models.BillingAccount: None,
        subscriber_models.Subscription: None,
        subscriber_models.VoucherBatch: "subscribers:voucherbatch-detail",
        charging_models.UsageFile: None,
        charging_models.RejectedRecord: "charging:rejectedrecord-detail",
        charging_models.UsageEvent: None,
        charging_models.RerateJob: None,
        core_models.WebhookEndpoint: None,
        core_models.WebhookDelivery: None,
        invoicing_models.Invoice: None,
        invoicing_models.BillRun: None,
        invoicing_models.BillCycle: None,
        settlement_models.Partner: None,
        settlement_models.Agreement: None,
        settlement_models.SettlementRun: None,
        settlement_models.Statement: None,
        settlement_models.Reconciliation: None,
        settlement_models.DisputeItem: None,
        invoicing_models.DunningPolicy: None,
        invoicing_models.DunningHold: None,
        invoicing_models.InvoiceArchive: None,
        invoicing_models.Payment: None,
        invoicing_models.SepaMandate: None,
        invoicing_models.SepaCollection: None,
        invoicing_models.BankStatement: None,
        invoicing_models.BankStatementLine: None,
    }
    for model, url_name in owned.items():
        for obj in model.objects.all():
            url = reverse(url_name, args=[obj.pk]) if url_name else obj.get_absolute_url()
            patterns.append(re.compile(re.escape(url)))
    return patterns


def lorem_object(model):
    """One object of LOREM (or shared) of the model, or None when the world has none."""
    queryset = model.objects.order_by("pk")
    if model is catalog_models.Brand:
        queryset = queryset.filter(code="LOREM")
    if model is charging_models.UsageEvent:
        in_error = queryset.filter(rating_status=charging_models.RatingStatus.ERROR)
        queryset = in_error if in_error.exists() else queryset
    return queryset.first()


# --- what the sweep compares ------------------------------------------------------------------


def business_tables() -> list[str]:
    tables = []
    for label in BUSINESS_APPS:
        for model in apps.get_app_config(label).get_models():
            tables.append(model._meta.db_table)
    for model in OUTBOX_MODELS:
        tables.append(model._meta.db_table)
    return sorted(set(tables))


def database_digest() -> dict[str, str]:
    """A digest of every row of every business table (PostgreSQL), or their counts elsewhere."""
    tables = business_tables()
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        parts = [
            f"SELECT '{table}', (SELECT md5(coalesce(string_agg(md5(t::text), '' "
            f"ORDER BY md5(t::text)), '')) FROM {quote(table)} t)"
            for table in tables
        ]
    else:
        parts = [f"SELECT '{table}', (SELECT count(*) FROM {quote(table)})" for table in tables]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return {table: str(digest) for table, digest in cursor.fetchall()}


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(table for table in before if before[table] != after.get(table))


def leaked(identifiers, body: str) -> list[str]:
    return [pattern.pattern for pattern in identifiers if pattern.search(body)]


def body_text(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


class Findings:
    """What the sweep found wrong, reported all at once."""

    def __init__(self):
        self.items: list[str] = []

    def check(self, world, label: str, response, before: dict, *, owned: bool, is_list=False):
        after = database_digest()
        changed = changed_tables(before, after)
        if changed:
            self.items.append(f"{label}: {response.status_code} and changed {changed}")
        if not 200 <= response.status_code < 300:
            return after
        text = body_text(response)
        if owned:
            self.items.append(f"{label}: {response.status_code} on an object only LOREM owns")
        found = leaked(world.identifiers, text)
        if found:
            self.items.append(f"{label}: {response.status_code} shows LOREM's {found[:5]}")
        if is_list and response.get("Content-Type", "").startswith("application/json"):
            count = json.loads(text).get("count") if text.startswith("{") else None
            if count:
                self.items.append(f"{label}: lists {count} of LOREM's objects")
        return after


# --- the API, from its OpenAPI schema ---------------------------------------------------------


def api_operations():
    """Every (method, path template) of the OpenAPI schema, with the view that answers it."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in sorted(schema["paths"].items()):
        for method in operations:
            if method in ("get", "post", "put", "patch", "delete"):
                yield method, path


def api_model(path: str):
    """The model of the viewset that answers a path."""
    probe = re.sub(r"\{[^}]+\}", "1", path)
    view = resolve(probe).func
    cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
    model = getattr(cls, "model", None)
    if model is None and getattr(cls, "queryset", None) is not None:
        model = cls.queryset.model
    serializer = getattr(cls, "serializer_class", None)
    if model is None and serializer is not None:
        model = getattr(getattr(serializer, "Meta", None), "model", None)
    return model


def admin_representation(admin_client, path: str):
    response = admin_client.get(path)
    if response.status_code != 200 or not response.get("Content-Type", "").startswith(
        "application/json"
    ):
        return None
    body = response.json()
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return body["results"][0] if body["results"] else None
    return body


def plausible_api_body(world, admin_client, method: str, template: str, path: str) -> dict:
    """What an every-brand admin would send: the object as read, its names changed."""
    account = world.subscribers.accounts["A"]
    reject = charging_models.RejectedRecord.objects.order_by("pk").first()
    body = {
        "reason": "sweep",
        "correctedRecord": reject.raw,
        "startDateTime": "2026-09-30T22:00:00Z",
        "endDateTime": "2026-10-31T23:00:00Z",
        "effectiveFrom": "2027-01-01T00:00:00Z",
        "code": "SWEEP-1",
        "billingAccount": {"id": str(account.pk)},
        "product": {"id": str(world.subscribers.subscriptions["A"].pk)},
        "amount": {"unit": "EUR", "value": "5.00"},
        "scope": "account",
        "voucherCode": "NOT-A-CODE",
    }
    if "{" not in template and method == "post" or method in ("put", "patch"):
        read = admin_representation(admin_client, path)
    else:
        read = None
    if isinstance(read, dict):
        read = {key: value for key, value in read.items() if key not in ("id", "href")}
        for key in ("code", "number", "name", "description"):
            if isinstance(read.get(key), str):
                read[key] = f"{read[key]}-SWEEP"[:30]
        body.update(read)
    return body


def test_every_api_operation_as_a_one_brand_operator_reveals_and_changes_nothing(world):
    operator, admin_client = APIClient(), APIClient()
    operator.force_authenticate(world.operator)
    admin_client.force_authenticate(world.admin)
    findings, swept = Findings(), 0
    before = database_digest()
    for method, template in api_operations():
        model = api_model(template)
        owned = False
        path = template
        for name in re.findall(r"\{([^}]+)\}", template):
            obj = lorem_object(model) if model is not None else None
            if obj is None:
                findings.items.append(f"{method.upper()} {template}: nothing to fill {{{name}}}")
                break
            owned = model not in SHARED_MODELS
            path = path.replace(f"{{{name}}}", str(obj.pk))
        else:
            label = f"{method.upper()} {path}"
            if method == "get":
                response = operator.get(path)
            elif template.endswith("/usageFile"):
                name = FILES[0].replace("_000001", "_000003")
                upload = (SAMPLES / FILES[0]).read_bytes()
                from django.core.files.uploadedfile import SimpleUploadedFile

                response = operator.post(
                    path,
                    {"file": SimpleUploadedFile(name, upload, "text/csv")},
                    format="multipart",
                )
            else:
                body = plausible_api_body(world, admin_client, method, template, path)
                response = getattr(operator, method)(path, body, format="json")
            # The brand list shows the operator's own brand (IPSUM); LOREM is looked for by code.
            own = SHARED_MODELS | {catalog_models.Brand}
            is_list = method == "get" and "{" not in template and model not in own
            before = findings.check(
                world, label, response, before, owned=owned and method != "options", is_list=is_list
            )
            swept += 1
    assert swept > 100
    assert not findings.items, "\n".join(findings.items)


# --- the console, from the URL resolver -------------------------------------------------------


def console_patterns(resolver=None, prefix="", namespace=""):
    """Every (route, URL name, pattern) of the console, walked from the root resolver."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            space = namespace
            if entry.namespace:
                space = f"{namespace}{entry.namespace}:"
            yield from console_patterns(entry, route, space)
        elif isinstance(entry, URLPattern) and entry.name:
            yield route, f"{namespace}{entry.name}", entry


def console_model(pattern):
    view_class = getattr(pattern.callback, "view_class", None)
    return getattr(view_class, "model", None), getattr(view_class, "parent_model", None)


def console_path(route: str, name: str, pattern):
    """The URL with its path filled by LOREM's objects; (path, owned) or (None, why)."""
    model, parent_model = console_model(pattern)
    kwargs, owned = {}, False
    for key in re.findall(r"<(?:\w+:)?(\w+)>", route):
        if key in STR_KWARGS:
            kwargs[key] = STR_KWARGS[key]
            continue
        target = (
            KWARG_MODELS.get(key)
            or NAME_MODELS.get(name)
            or (parent_model if key == "parent_pk" else model)
        )
        if target is None:
            return None, f"{name}: say what fills <{key}> (KWARG_MODELS)"
        obj = lorem_object(target)
        if obj is None:
            return None, f"{name}: the world has no {target.__name__} for <{key}>"
        kwargs[key] = obj.pk
        owned = owned or target not in SHARED_MODELS | {User}
    return reverse(name, kwargs=kwargs), owned


class FormReader(html.parser.HTMLParser):
    """The fields of a page's forms with the values an admin sees, as a POST body."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.select: str | None = None
        self.select_first: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data.setdefault(name, []).append(attrs.get("value", "on"))
            elif kind != "file":
                self.data.setdefault(name, []).append(attrs.get("value") or "1")
        elif tag == "select" and name:
            self.select, self.select_first = name, None
        elif tag == "option" and self.select:
            value = attrs.get("value", "")
            if self.select_first is None and value:
                self.select_first = value
            if "selected" in attrs:
                self.data.setdefault(self.select, []).append(value)
        elif tag == "textarea" and name:
            self.textarea = name
            self.data.setdefault(name, []).append("")

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "select" and self.select:
            if self.select not in self.data and self.select_first:
                self.data[self.select] = [self.select_first]
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def plausible_form(admin_client, path: str) -> dict:
    response = admin_client.get(path)
    reader = FormReader()
    if response.status_code == 200 and not getattr(response, "streaming", False):
        reader.feed(response.content.decode("utf-8", "replace"))
    return {key: values if len(values) > 1 else values[0] for key, values in reader.data.items()}


def test_every_console_url_as_a_one_brand_operator_reveals_and_changes_nothing(world, client):
    from django.test import Client

    admin_client = Client()
    admin_client.force_login(world.admin)
    client.force_login(world.operator)
    findings, swept = Findings(), 0
    before = database_digest()
    for route, name, pattern in console_patterns():
        if route.startswith(CONSOLE_SKIPPED_PREFIXES) or name in CONSOLE_ALLOWED:
            continue
        path, owned = console_path(route, name, pattern)
        if path is None:
            findings.items.append(owned)
            continue
        response = client.get(path)
        before = findings.check(world, f"GET {path}", response, before, owned=owned)
        body = plausible_form(admin_client, path)
        if name.endswith("usagefile-create"):
            from django.core.files.uploadedfile import SimpleUploadedFile

            upload = (SAMPLES / FILES[0]).read_bytes()
            body["file"] = SimpleUploadedFile(FILES[0].replace("_000001", "_000003"), upload)
        response = client.post(path, body)
        before = findings.check(world, f"POST {path}", response, before, owned=owned)
        swept += 1
    assert swept > 100
    assert not findings.items, "\n".join(findings.items)


def test_the_django_admin_sends_a_one_brand_operator_to_its_login(world, client):
    client.force_login(world.operator)
    response = client.get("/admin/catalog/plan/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_sweep_would_see_lorems_data_if_it_leaked(world, client):
    """The probe works: an every-brand admin is shown LOREM's identifiers and objects."""
    client.force_login(world.admin)
    text = body_text(client.get(reverse("subscribers:customer-list")))
    assert leaked(world.identifiers, text)
    api = APIClient()
    api.force_authenticate(world.admin)
    assert api.get("/api/v1/charging/rejectedRecord").json()["count"] > 0
    assert api.get("/api/v1/charging/sequenceGap").json()["count"] == 1
    assert api.get("/api/v1/charging/usageFile").json()["count"] == len(FILES)


# --- the writes of the issue, refused by the services themselves --------------------------------


def ipsum_subscription(world):
    """A subscription of IPSUM, for the tests that need the operator to own something."""
    from tests.subscribers.factories import CustomerFactory, SubscriptionFactory

    customer = CustomerFactory(brand=world.ipsum, number="IPSUM-C1")
    return SubscriptionFactory(
        billing_account__customer=customer,
        billing_account__tax_region=world.catalog.tax_region,
        msisdn="4917699000001",
    )


def lorem_reject():
    """A rejected record naming a LOREM subscriber (inactive then, or a bad field)."""
    terms = subscriber_models.SubscriptionTerm.objects.values_list("msisdn", flat=True)
    for reject in charging_models.RejectedRecord.objects.order_by("pk"):
        fields = reject.raw.split(",")
        if len(fields) > 2 and fields[2] in set(terms):
            return reject
    raise AssertionError("the golden files hold a reject of a LOREM subscriber")


def test_a_one_brand_operator_cannot_rename_another_brands_plan(world):
    from django.core.exceptions import PermissionDenied

    plan = world.catalog.plan
    with pytest.raises(PermissionDenied):
        catalog_services.plan_save(
            plan=plan,
            code=plan.code,
            name="Renamed",
            brand=plan.brand,
            payment_model=plan.payment_model,
            currency=plan.currency,
            acting_user=world.operator,
        )
    api = APIClient()
    api.force_authenticate(world.operator)
    response = api.patch(f"/api/v1/catalog/plan/{plan.pk}", {"name": "Renamed"}, format="json")
    assert response.status_code == 404
    plan.refresh_from_db()
    assert plan.name != "Renamed"


def test_a_one_brand_operator_changes_their_own_brands_plan(world):
    plan = catalog_services.plan_save(
        code="IPSUM-S",
        name="Ipsum S",
        brand=world.ipsum,
        payment_model="postpaid",
        currency="EUR",
        acting_user=world.operator,
    )
    api = APIClient()
    api.force_authenticate(world.operator)
    response = api.patch(f"/api/v1/catalog/plan/{plan.pk}", {"name": "Ipsum Small"}, format="json")
    assert response.status_code == 200, response.content
    assert api.get("/api/v1/catalog/plan").json()["count"] == 1


def test_a_one_brand_operator_reads_a_shared_rate_card_but_cannot_change_it(world):
    card = catalog_models.RateCard.objects.order_by("pk").first()
    api = APIClient()
    api.force_authenticate(world.operator)
    assert api.get(f"/api/v1/catalog/rateCard/{card.pk}").status_code == 200
    response = api.post(f"/api/v1/catalog/rateCard/{card.pk}/clone", {"code": "MINE"})
    assert response.status_code == 403
    assert not catalog_models.RateCard.objects.filter(code="MINE").exists()


def test_a_one_brand_operator_cannot_upload_a_usage_file_anywhere(world, client):
    from django.core.exceptions import PermissionDenied
    from django.core.files.uploadedfile import SimpleUploadedFile

    from charging.services import usage_file_receive

    name = FILES[0].replace("_000001", "_000003")
    content = (SAMPLES / FILES[0]).read_bytes()
    files = charging_models.UsageFile.objects.count()
    with pytest.raises(PermissionDenied):
        usage_file_receive(name=name, content=content, acting_user=world.operator)
    api = APIClient()
    api.force_authenticate(world.operator)
    upload = SimpleUploadedFile(name, content, "text/csv")
    response = api.post("/api/v1/charging/usageFile", {"file": upload}, format="multipart")
    assert response.status_code == 403
    client.force_login(world.operator)
    upload = SimpleUploadedFile(name, content, "text/csv")
    assert client.post(reverse("charging:usagefile-create"), {"file": upload}).status_code == 403
    assert charging_models.UsageFile.objects.count() == files


def test_a_one_brand_operator_cannot_reprocess_or_discard_another_brands_reject(world):
    from django.core.exceptions import PermissionDenied

    from charging.services import rejected_record_discard, rejected_record_reprocess

    reject = lorem_reject()
    with pytest.raises(PermissionDenied):
        rejected_record_reprocess(rejected_record=reject, acting_user=world.operator)
    with pytest.raises(PermissionDenied):
        rejected_record_discard(rejected_record=reject, reason="test", acting_user=world.operator)
    reject.refresh_from_db()
    assert reject.status == charging_models.RejectStatus.OPEN


def test_reprocessing_refuses_to_charge_another_brands_subscriber(world):
    """IPSUM's own reject, corrected onto LOREM's number, is refused and charges nothing."""
    from django.core.exceptions import PermissionDenied

    from charging.selectors import rejected_records_visible_to
    from charging.services import rejected_record_reprocess

    subscription = ipsum_subscription(world)
    line = "IPSUM-R1,MOC,{},,20261009090000,+0200,61,4917012345678,,,,26203,NORMAL,"
    own = charging_models.RejectedRecord.objects.create(
        usage_file=lorem_reject().usage_file,
        line_number=999,
        record_id="IPSUM-R1",
        raw=line.format(subscription.msisdn),
        reason=charging_models.RejectReason.INACTIVE_SUBSCRIPTION,
    )
    assert list(rejected_records_visible_to(world.operator)) == [own]
    onto_lorem = line.format("4915112340001")  # Anna's number, active in October
    events = charging_models.UsageEvent.objects.count()
    with pytest.raises(PermissionDenied):
        rejected_record_reprocess(
            rejected_record=own, corrected_raw=onto_lorem, acting_user=world.operator
        )
    own.refresh_from_db()
    assert own.status == charging_models.RejectStatus.OPEN
    assert charging_models.UsageEvent.objects.count() == events
    # The same correction by a user who sees every brand is accepted: only the brand refused.
    done = rejected_record_reprocess(
        rejected_record=own, corrected_raw=onto_lorem, acting_user=world.admin
    )
    assert done.status == charging_models.RejectStatus.REPROCESSED


def test_a_one_brand_operator_sees_a_file_through_their_own_records_only(world):
    from charging.selectors import sequence_gaps_visible_to, usage_files_visible_to

    assert not usage_files_visible_to(world.operator).exists()
    subscription = ipsum_subscription(world)
    template = lorem_reject()
    fields = template.raw.split(",")
    fields[2] = subscription.msisdn
    charging_models.RejectedRecord.objects.create(
        usage_file=template.usage_file,
        line_number=998,
        raw=",".join(fields),
        reason=charging_models.RejectReason.INACTIVE_SUBSCRIPTION,
    )
    assert list(usage_files_visible_to(world.operator)) == [template.usage_file]
    assert not sequence_gaps_visible_to(world.operator).exists()
    assert sequence_gaps_visible_to(world.admin).count() == 1


def test_a_one_brand_operator_cannot_top_up_another_brands_account(world):
    from django.core.exceptions import PermissionDenied

    account = world.subscribers.accounts["A"]
    with pytest.raises(PermissionDenied):
        subscriber_services.balance_adjust(
            billing_account=account, amount=Decimal("5"), reason="x", acting_user=world.operator
        )


# --- the People page: an admin sets whom a user sees ------------------------------------------


def test_an_admin_limits_a_user_to_brands_on_the_people_page_audited(world, client):
    person = User.objects.create_user("new-operator")
    client.force_login(world.admin)
    people = client.get(reverse("user-list")).content.decode()
    assert reverse("catalog:user-brands", args=[person.pk]) in people
    url = reverse("catalog:user-brands", args=[person.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"brands": [world.ipsum.pk]})
    assert response.status_code == 302
    scopes = catalog_models.BrandScope.objects.filter(user=person)
    assert [scope.brand for scope in scopes] == [world.ipsum]
    trail = catalog_models.BrandScope.history.filter(user_id=person.pk)
    assert [(entry.history_type, entry.history_user) for entry in trail] == [("+", world.admin)]
    assert "IPSUM" in client.get(url).content.decode()  # the audit trail names the brand
    client.post(url, {})  # none ticked: every brand again
    assert not catalog_models.BrandScope.objects.filter(user=person).exists()
    removed = catalog_models.BrandScope.history.filter(user_id=person.pk, history_type="-")
    assert removed.count() == 1


def test_a_brand_limited_admin_cannot_widen_anyones_brands(world, client):
    limited_admin = User.objects.create_user("ipsum-admin", is_staff=True)
    limited_admin.groups.set(Group.objects.filter(name="admin"))
    catalog_models.BrandScope.objects.create(user=limited_admin, brand=world.ipsum)
    client.force_login(limited_admin)
    url = reverse("catalog:user-brands", args=[limited_admin.pk])
    assert client.post(url, {}).status_code == 403
    assert catalog_models.BrandScope.objects.filter(user=limited_admin).exists()


def test_a_shared_add_on_is_read_with_the_readers_plans_only_and_not_changed(world, client):
    ipsum_plan = catalog_services.plan_save(
        code="IPSUM-S", name="Ipsum S", brand=world.ipsum, payment_model="postpaid", currency="EUR"
    )
    shared = catalog_services.add_on_save(
        data={
            "code": "SHARED-GB",
            "name": "Shared gigabyte",
            "kind": catalog_models.AddOnKind.ONE_OFF,
            "eligible_plans": [world.catalog.plan, ipsum_plan],
        }
    )
    api = APIClient()
    api.force_authenticate(world.operator)
    read = api.get(f"/api/v1/catalog/addOn/{shared.pk}")
    assert read.status_code == 200
    assert [plan["id"] for plan in read.json()["eligiblePlans"]] == [str(ipsum_plan.pk)]
    response = api.patch(f"/api/v1/catalog/addOn/{shared.pk}", {"name": "Mine"}, format="json")
    assert response.status_code == 403
    client.force_login(world.operator)
    page = client.get(reverse("catalog:addon-detail", args=[shared.pk])).content.decode()
    assert "IPSUM-S" in page and not leaked(world.identifiers, page)
    shared.refresh_from_db()
    assert shared.name == "Shared gigabyte"


def test_a_one_brand_operator_cannot_rerate_everyone_or_another_brand_in_the_service(world):
    from django.core.exceptions import PermissionDenied

    window = {
        "start": dt.datetime(2026, 9, 30, 22, tzinfo=dt.UTC),
        "end": dt.datetime(2026, 10, 31, 23, tzinfo=dt.UTC),
        "reason": "x",
        "acting_user": world.operator,
    }
    jobs = charging_models.RerateJob.objects.count()
    with pytest.raises(PermissionDenied):
        rerate_job_create(scope=charging_models.RerateScope.PERIOD, **window)
    with pytest.raises(PermissionDenied):
        rerate_job_create(
            scope=charging_models.RerateScope.ACCOUNT,
            billing_account=world.subscribers.accounts["B"],
            **window,
        )
    assert charging_models.RerateJob.objects.count() == jobs


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="stalled files are told by PostgreSQL's advisory locks (docs/operations.md)",
)
def test_a_one_brand_operator_cannot_retry_a_stalled_file_or_part(world, client):
    """A file left by a lost worker is every brand's: another brand's operator gets 404 (issue 13).

    Its records are read by nobody yet, so no brand-limited user sees it; the retry actions of
    the console and of the API answer 404 and change nothing; the service refuses the user.
    """
    from django.core.exceptions import PermissionDenied
    from django.utils import timezone

    from charging.selectors import usage_files_stalled
    from charging.services import usage_file_retry

    stalled = charging_models.UsageFile.objects.create(
        name="CDR_HOSTNET_20261101004000_000005.csv", source="HOSTNET", checksum="5" * 64,
        origin="command", status="processing", worker_started_at=timezone.now(),
    )  # fmt: skip
    assert usage_files_stalled().filter(pk=stalled.pk).exists()  # no worker holds it
    before = database_digest()
    api = APIClient()
    api.force_authenticate(world.operator)
    for action in ("retry", "retryParts"):
        path = f"/api/v1/charging/usageFile/{stalled.pk}/{action}"
        assert api.post(path, {}, format="json").status_code == 404
    client.force_login(world.operator)
    for name in ("charging:usagefile-retry", "charging:usagefile-retry-parts"):
        assert client.get(reverse(name, args=[stalled.pk])).status_code == 404
        assert client.post(reverse(name, args=[stalled.pk])).status_code == 404
    assert client.get(stalled.get_absolute_url()).status_code == 404
    with pytest.raises(PermissionDenied):
        usage_file_retry(usage_file=stalled, acting_user=world.operator)
    assert database_digest() == before
    stalled.refresh_from_db()
    assert (stalled.status, stalled.status_detail) == ("processing", "")
