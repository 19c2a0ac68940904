"""The subscribers console through the Django client: lists, 360, money, lifecycle, scoping."""

import csv
import datetime as dt
import hashlib
import hmac
import io
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog import services as catalog_services
from core.periods import billing_period_containing
from subscribers import services
from subscribers.models import (
    BrandScope,
    Customer,
    Sim,
    SimBatch,
    SimStatus,
    Subscription,
    SubscriptionStatus,
    TopUp,
    Voucher,
)
from tests.catalog.builders import BERLIN
from tests.subscribers.builders import iccid_for

pytestmark = pytest.mark.django_db

ANNA_MSISDN = "4915112340001"


def url(name: str, *args) -> str:
    return reverse(f"subscribers:{name}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8"))))


@pytest.fixture
def anna(golden_subscribers):
    return golden_subscribers.subscriptions["A"]


@pytest.fixture
def prepaid_account(golden_subscribers, golden_catalog):
    """A prepaid account of Anna's, with no money yet."""
    return services.billing_account_save(
        customer=golden_subscribers.customers["A"],
        data={
            "name": "Anna prepaid",
            "currency": "EUR",
            "timezone": BERLIN,
            "tax_region": golden_catalog.tax_region,
            "payment_model": "prepaid",
        },
    )


@pytest.fixture
def other_brand_operator(make_user, golden_catalog):
    """An operator limited to another brand than the golden one."""
    brand = catalog_services.brand_save(code="IPSUM", name="Ipsum Mobile")
    user = make_user("ipsum-operator", "operator")
    BrandScope.objects.create(user=user, brand=brand)
    return user


def spare_sims(golden_catalog, *imsis: str) -> list[Sim]:
    """Load SIMs that no subscription holds."""
    text = "iccid,imsi\n" + "".join(f"{iccid_for(imsi)},{imsi}\n" for imsi in imsis)
    batch = services.sim_batch_load(
        reference=f"SPARE-{imsis[0]}", host_network=golden_catalog.host_network, csv_text=text
    )
    return list(batch.sims.order_by("imsi"))


# --- lists ----------------------------------------------------------------------------------


def test_customer_list_finds_a_customer_by_full_name(console_client_for, operator, anna):
    response = console_client_for(operator).get(url("customer-list"), {"q": "anna schmidt"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Anna Schmidt" in content
    assert "Ben Müller" not in content


def test_customer_list_finds_a_customer_by_msisdn(console_client_for, operator, anna):
    response = console_client_for(operator).get(url("customer-list"), {"q": "+49 151 12340002"})
    content = response.content.decode()
    assert "Ben Müller" in content
    assert "Anna Schmidt" not in content


def test_customer_list_exports_what_is_filtered_as_csv(console_client_for, operator, anna):
    response = console_client_for(operator).get(
        url("customer-list"), {"q": "Weber", "_export": "csv"}
    )
    assert response.status_code == 200
    rows = csv_rows(response)
    assert rows[0][:2] == ["Number", "Name"]
    assert [row[1] for row in rows[1:]] == ["Carla Weber"]


def test_subscription_list_filters_by_status_and_searches_msisdn(
    console_client_for, operator, golden_subscribers
):
    client = console_client_for(operator)
    terminated = client.get(url("subscription-list"), {"status": "terminated", "_export": "csv"})
    assert [row[0] for row in csv_rows(terminated)[1:]] == ["+4915112340003"]
    by_number = client.get(url("subscription-list"), {"msisdn": "0049 151 1234 0002"})
    content = by_number.content.decode()
    assert "+4915112340002" in content
    assert "+4915112340001" not in content


def test_subscription_list_filters_by_plan(console_client_for, operator, golden_subscribers):
    plan = golden_subscribers.subscriptions["A"].plan
    response = console_client_for(operator).get(
        url("subscription-list"), {"plan": plan.pk, "_export": "csv"}
    )
    assert len(csv_rows(response)) == 4


def test_billing_account_list_filters_by_payment_model(
    console_client_for, operator, prepaid_account
):
    response = console_client_for(operator).get(
        url("billingaccount-list"), {"payment_model": "prepaid", "_export": "csv"}
    )
    rows = csv_rows(response)
    assert [row[0] for row in rows[1:]] == [prepaid_account.number]


def test_sim_list_searches_imsi_and_filters_status(
    console_client_for, operator, golden_subscribers
):
    client = console_client_for(operator)
    found = client.get(url("sim-list"), {"q": "262031234500001", "_export": "csv"})
    rows = csv_rows(found)
    assert len(rows) == 2
    assert rows[1][:3] == [iccid_for("262031234500001"), "262031234500001", "assigned"]
    retired = client.get(url("sim-list"), {"status": "retired", "_export": "csv"})
    assert [row[1] for row in csv_rows(retired)[1:]] == ["262031234500003"]


def test_voucher_batch_and_top_up_lists_render(console_client_for, operator, prepaid_account):
    services.top_up(
        billing_account=prepaid_account, amount=Decimal("5.00"), channel="card", reference="T-1"
    )
    client = console_client_for(operator)
    assert client.get(url("voucherbatch-list")).status_code == 200
    top_ups = client.get(url("topup-list"), {"channel": "card"})
    assert top_ups.status_code == 200
    assert "T-1" in top_ups.content.decode()


def test_menu_shows_the_subscribers_pages_to_an_operator(console_client_for, operator):
    content = console_client_for(operator).get("/").content.decode()
    for label in ("Customers", "Billing accounts", "Subscriptions", "SIMs", "Vouchers", "Top-ups"):
        assert f">{label}</a>" in content


# --- brand scoping --------------------------------------------------------------------------


def test_user_of_another_brand_sees_no_golden_customer_in_lists(
    console_client_for, other_brand_operator, golden_catalog, prepaid_account
):
    services.top_up(
        billing_account=prepaid_account, amount=Decimal("5.00"), channel="card", reference="T-9"
    )
    services.voucher_batch_create(
        reference="LOREM-V", brand=golden_catalog.brand, value=Decimal("10"), currency="EUR",
        count=1,
    )  # fmt: skip
    (stock,) = spare_sims(golden_catalog, "262031234500060")
    client = console_client_for(other_brand_operator)
    for name in (
        "customer-list",
        "billingaccount-list",
        "subscription-list",
        "topup-list",
        "voucherbatch-list",
    ):
        rows = csv_rows(client.get(url(name), {"_export": "csv"}))
        assert rows[1:] == [], name
    sims = csv_rows(client.get(url("sim-list"), {"_export": "csv"}))
    assert [row[0] for row in sims[1:]] == [stock.iccid]
    page = client.get(url("customer-list"), {"q": "Schmidt"}).content.decode()
    assert "Anna" not in page


def test_user_of_another_brand_cannot_create_a_customer_of_the_golden_brand(
    console_client_for, other_brand_operator, golden_catalog
):
    response = console_client_for(other_brand_operator).post(
        url("customer-create"),
        {"brand": golden_catalog.brand.pk, "kind": "person", "last_name": "Fremd", "country": "DE",
         "language": "de"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Customer.objects.filter(last_name="Fremd").exists()


def test_user_of_another_brand_gets_404_on_golden_pages(
    console_client_for, other_brand_operator, golden_subscribers
):
    client = console_client_for(other_brand_operator)
    customer = golden_subscribers.customers["A"]
    account = golden_subscribers.accounts["A"]
    subscription = golden_subscribers.subscriptions["A"]
    for path in (
        url("customer-detail", customer.pk),
        url("customer-edit", customer.pk),
        url("billingaccount-detail", account.pk),
        url("billingaccount-create", customer.pk),
        url("subscription-detail", subscription.pk),
        url("subscription-suspend", subscription.pk),
        url("subscription-terminate", subscription.pk),
    ):
        assert client.get(path).status_code == 404, path
    assert client.post(url("subscription-suspend", subscription.pk)).status_code == 404
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE


# --- customer-360 and account pages ---------------------------------------------------------


def test_customer_360_shows_accounts_subscriptions_balances_and_buckets(
    console_client_for, operator, anna, prepaid_account
):
    services.top_up(
        billing_account=prepaid_account, amount=Decimal("25.00"), channel="card", reference="C-1"
    )
    period = billing_period_containing(dt.datetime.now(dt.UTC), tz=BERLIN, cycle_day=1)
    services.buckets_grant_for_period(
        subscription=anna, period_start=period.start, period_end=period.end
    )
    response = console_client_for(operator).get(
        url("customer-detail", anna.billing_account.customer_id)
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert anna.billing_account.number in content
    assert prepaid_account.number in content
    assert f"+{ANNA_MSISDN}" in content
    assert "SMART-10" in content
    assert "25.00 EUR" in content
    assert "Data 10 GB" in content and "10.00 GB" in content
    assert "C-1" in content


def test_postpaid_account_page_has_no_balance_forms(console_client_for, operator, anna):
    response = console_client_for(operator).get(
        url("billingaccount-detail", anna.billing_account_id)
    )
    assert response.status_code == 200
    assert response.context["has_balance"] is False
    assert "top_up_form" not in response.context


def test_top_up_through_the_console_changes_the_balance(
    console_client_for, operator, prepaid_account
):
    client = console_client_for(operator)
    response = client.post(
        url("billingaccount-top-up", prepaid_account.pk),
        {"amount": "15.00", "reference": "RCPT-77"},
    )
    assert response.status_code == 302
    assert services.balance_of(prepaid_account) == Decimal("15.00")
    assert TopUp.objects.get(reference="RCPT-77").channel == "console"
    page = client.get(url("billingaccount-detail", prepaid_account.pk)).content.decode()
    assert "15.00 EUR" in page
    assert "RCPT-77" in page


def test_top_up_with_a_used_reference_is_refused_on_the_form(
    console_client_for, operator, prepaid_account
):
    client = console_client_for(operator)
    data = {"amount": "15.00", "reference": "RCPT-78"}
    client.post(url("billingaccount-top-up", prepaid_account.pk), data)
    again = client.post(url("billingaccount-top-up", prepaid_account.pk), data)
    assert again.status_code == 200
    assert "exists already" in again.content.decode()
    assert services.balance_of(prepaid_account) == Decimal("15.00")


def test_top_up_of_a_postpaid_account_is_refused(console_client_for, operator, anna):
    response = console_client_for(operator).post(
        url("billingaccount-top-up", anna.billing_account_id),
        {"amount": "5.00", "reference": "X-1"},
    )
    assert response.status_code == 200
    assert "a postpaid account has no prepaid balance" in response.content.decode()


def test_balance_adjustment_needs_a_reason_and_is_signed(
    console_client_for, operator, prepaid_account
):
    client = console_client_for(operator)
    path = url("billingaccount-adjust", prepaid_account.pk)
    refused = client.post(path, {"adjust-amount": "3.50", "adjust-reason": ""})
    assert refused.status_code == 200
    assert services.balance_of(prepaid_account) == Decimal("0")
    client.post(path, {"adjust-amount": "3.50", "adjust-reason": "goodwill, outage 12 Nov"})
    client.post(path, {"adjust-amount": "-1.25", "adjust-reason": "correction"})
    assert services.balance_of(prepaid_account) == Decimal("2.25")


def test_finance_cannot_top_up(console_client_for, finance, prepaid_account):
    response = console_client_for(finance).post(
        url("billingaccount-top-up", prepaid_account.pk), {"amount": "5.00", "reference": "F-1"}
    )
    assert response.status_code == 403
    assert services.balance_of(prepaid_account) == Decimal("0")


# --- vouchers -------------------------------------------------------------------------------


def test_voucher_batch_gives_its_codes_once_and_a_code_redeems_once(
    console_client_for, operator, golden_catalog, prepaid_account
):
    client = console_client_for(operator)
    response = client.post(
        url("voucherbatch-create"),
        {
            "reference": "OCT-15",
            "brand": golden_catalog.brand.pk,
            "value": "15.00",
            "currency": "EUR",
            "count": "3",
        },
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    rows = csv_rows(response)
    assert rows[0] == ["serial", "code"]
    assert [row[0] for row in rows[1:]] == ["OCT-15-000001", "OCT-15-000002", "OCT-15-000003"]
    code = rows[1][1]
    stored = Voucher.objects.get(serial="OCT-15-000001")
    digits = code.replace("-", "")
    assert (
        stored.code_hash
        == hmac.new(settings.VOUCHER_SECRET.encode(), digits.encode(), hashlib.sha256).hexdigest()
    )
    detail = client.get(url("voucherbatch-detail", Voucher.objects.first().batch_id))
    assert code not in detail.content.decode()

    redeem = url("billingaccount-redeem", prepaid_account.pk)
    assert client.post(redeem, {"voucher-code": code}).status_code == 302
    assert services.balance_of(prepaid_account) == Decimal("15.00")
    again = client.post(redeem, {"voucher-code": code})
    assert again.status_code == 200
    assert "this voucher is redeemed" in again.content.decode()
    assert services.balance_of(prepaid_account) == Decimal("15.00")


# --- SIM stock ------------------------------------------------------------------------------


def test_sim_upload_with_a_bad_line_shows_the_line_and_loads_nothing(
    console_client_for, operator, golden_catalog
):
    good = "262031234500010"
    right = iccid_for("262031234500011")
    bad_iccid = right[:-1] + str((int(right[-1]) + 1) % 10)
    text = f"iccid,imsi\n{iccid_for(good)},{good}\n{bad_iccid},262031234500011\n"
    response = console_client_for(operator).post(
        url("simbatch-create"),
        {
            "reference": "DELIVERY-7",
            "host_network": golden_catalog.host_network.pk,
            "file": SimpleUploadedFile("sims.csv", text.encode(), content_type="text/csv"),
        },
    )
    assert response.status_code == 200
    assert "line 3:" in response.content.decode()
    assert "wrong check digit" in response.content.decode()
    assert not SimBatch.objects.filter(reference="DELIVERY-7").exists()
    assert not Sim.objects.filter(imsi=good).exists()


def test_sim_upload_loads_a_batch(console_client_for, operator, golden_catalog):
    imsis = ["262031234500020", "262031234500021"]
    text = "iccid,imsi\n" + "".join(f"{iccid_for(imsi)},{imsi}\n" for imsi in imsis)
    response = console_client_for(operator).post(
        url("simbatch-create"),
        {
            "reference": "DELIVERY-8",
            "host_network": golden_catalog.host_network.pk,
            "file": SimpleUploadedFile("sims.csv", text.encode(), content_type="text/csv"),
        },
    )
    assert response.status_code == 302
    batch = SimBatch.objects.get(reference="DELIVERY-8")
    assert batch.count == 2
    assert set(batch.sims.values_list("status", flat=True)) == {SimStatus.AVAILABLE}


# --- create forms ---------------------------------------------------------------------------


def test_customer_form_refuses_an_invalid_vat_number(console_client_for, operator, golden_catalog):
    client = console_client_for(operator)
    data = {
        "brand": golden_catalog.brand.pk,
        "kind": "business",
        "company_name": "Dolor GmbH",
        "country": "DE",
        "language": "de",
        "tax_id": "DE123456789",
    }
    refused = client.post(url("customer-create"), data)
    assert refused.status_code == 200
    assert "is not a valid EU VAT number" in refused.content.decode()
    assert not Customer.objects.filter(company_name="Dolor GmbH").exists()
    created = client.post(url("customer-create"), {**data, "tax_id": "DE 136 695 976"})
    assert created.status_code == 302
    assert Customer.objects.get(company_name="Dolor GmbH").tax_id == "DE136695976"


def test_billing_account_and_subscription_are_created_through_the_console(
    console_client_for, operator, golden_catalog, golden_subscribers
):
    client = console_client_for(operator)
    customer = golden_subscribers.customers["B"]
    response = client.post(
        url("billingaccount-create", customer.pk),
        {
            "name": "Ben second line",
            "currency": "EUR",
            "timezone": BERLIN,
            "bill_cycle_day": "1",
            "payment_terms_days": "14",
            "tax_region": golden_catalog.tax_region.pk,
            "payment_model": "postpaid",
            "credit_limit": "0",
        },
    )
    assert response.status_code == 302
    account = customer.accounts.get(name="Ben second line")
    (sim,) = spare_sims(golden_catalog, "262031234500030")
    ordered = client.post(
        url("subscription-create", account.pk),
        {"plan": golden_catalog.plan.pk, "msisdn": "+49 151 1234 0030", "sim": sim.iccid},
    )
    assert ordered.status_code == 302
    subscription = account.subscriptions.get()
    assert (subscription.msisdn, subscription.status) == ("4915112340030", "pending")
    assert subscription.sim == sim


def test_subscription_form_refuses_a_number_in_use(
    console_client_for, operator, golden_catalog, golden_subscribers
):
    account = golden_subscribers.accounts["B"]
    response = console_client_for(operator).post(
        url("subscription-create", account.pk),
        {"plan": golden_catalog.plan.pk, "msisdn": f"+{ANNA_MSISDN}"},
    )
    assert response.status_code == 200
    assert "belongs to another subscription" in response.content.decode()


# --- lifecycle ------------------------------------------------------------------------------


def test_suspend_then_reactivate_through_the_console(console_client_for, operator, anna):
    client = console_client_for(operator)
    terms_before = anna.terms.count()
    confirm = client.get(url("subscription-suspend", anna.pk))
    assert confirm.status_code == 200
    assert "Every service stops now" in confirm.content.decode()
    suspended = client.post(url("subscription-suspend", anna.pk))
    assert suspended.status_code == 302
    anna.refresh_from_db()
    assert anna.status == SubscriptionStatus.SUSPENDED
    assert anna.terms.count() == terms_before + 1
    page = client.get(url("subscription-detail", anna.pk)).content.decode()
    assert url("subscription-reactivate", anna.pk) in page
    assert url("subscription-suspend", anna.pk) not in page
    client.post(url("subscription-reactivate", anna.pk))
    anna.refresh_from_db()
    assert anna.status == SubscriptionStatus.ACTIVE
    assert list(anna.terms.values_list("status", flat=True)) == [
        "pending",
        "active",
        "suspended",
        "active",
    ]


def test_illegal_action_is_refused_with_the_service_message(
    console_client_for, operator, golden_subscribers
):
    client = console_client_for(operator)
    carla = golden_subscribers.subscriptions["C"]
    asked = client.get(url("subscription-suspend", carla.pk))
    assert asked.status_code == 302
    assert "cannot suspend a subscription that is terminated" in messages_of(asked)
    response = client.post(url("subscription-suspend", carla.pk))
    assert response.status_code == 302
    assert "cannot suspend a subscription that is terminated" in messages_of(response)
    carla.refresh_from_db()
    assert carla.status == SubscriptionStatus.TERMINATED
    anna = golden_subscribers.subscriptions["A"]
    refused = client.post(url("subscription-reactivate", anna.pk), follow=True)
    assert "cannot reactivate a subscription that is active" in refused.content.decode()


def test_page_shows_only_the_actions_legal_from_the_status(
    console_client_for, operator, golden_subscribers
):
    client = console_client_for(operator)
    anna = golden_subscribers.subscriptions["A"]
    actions = [
        a["label"] for a in client.get(url("subscription-detail", anna.pk)).context["actions"]
    ]
    assert actions == [
        "Suspend",
        "Bar outgoing",
        "Change plan",
        "Add add-on",
        "Swap SIM",
        "Set user",
        "Terminate",
        "Port out",
    ]
    carla = golden_subscribers.subscriptions["C"]
    assert client.get(url("subscription-detail", carla.pk)).context["actions"] == []


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_finance_and_auditor_cannot_run_lifecycle_actions(
    console_client_for, role_users, golden_subscribers, role
):
    client = console_client_for(role_users[role])
    anna = golden_subscribers.subscriptions["A"]
    page = client.get(url("subscription-detail", anna.pk))
    assert page.status_code == 200
    assert page.context["actions"] == []
    assert client.get(url("subscription-suspend", anna.pk)).status_code == 403
    assert client.post(url("subscription-suspend", anna.pk)).status_code == 403
    assert client.post(url("subscription-terminate", anna.pk), {}).status_code == 403
    anna.refresh_from_db()
    assert anna.status == SubscriptionStatus.ACTIVE


def test_terminate_on_a_date_ends_the_subscription_at_local_midnight(
    console_client_for, operator, golden_subscribers
):
    ben = golden_subscribers.subscriptions["B"]
    response = console_client_for(operator).post(
        url("subscription-terminate", ben.pk), {"effective_date": "2026-11-20"}
    )
    assert response.status_code == 302
    ben.refresh_from_db()
    assert ben.status == SubscriptionStatus.TERMINATED
    assert ben.terminated_at == dt.datetime(2026, 11, 19, 23, 0, tzinfo=dt.UTC)
    assert Sim.objects.get(pk=ben.sim_id).status == SimStatus.RETIRED


def test_port_out_records_a_port_out_term(console_client_for, operator, golden_subscribers):
    ben = golden_subscribers.subscriptions["B"]
    console_client_for(operator).post(
        url("subscription-port-out", ben.pk), {"effective_date": "2026-11-20"}
    )
    assert ben.terms.order_by("valid_from").last().change == services.PORT_OUT


def test_terminate_before_the_last_change_is_refused_on_the_form(
    console_client_for, operator, golden_subscribers
):
    ben = golden_subscribers.subscriptions["B"]
    response = console_client_for(operator).post(
        url("subscription-terminate", ben.pk), {"effective_date": "2026-10-01"}
    )
    assert response.status_code == 200
    assert "a new one cannot take effect before it" in response.content.decode()
    ben.refresh_from_db()
    assert ben.status == SubscriptionStatus.ACTIVE


def test_swap_sim_moves_the_subscription_to_an_available_sim(
    console_client_for, operator, golden_catalog, anna
):
    (new_sim,) = spare_sims(golden_catalog, "262031234500040")
    old_sim_id = anna.sim_id
    client = console_client_for(operator)
    form = client.get(url("subscription-swap-sim", anna.pk)).content.decode()
    assert new_sim.iccid in form
    response = client.post(url("subscription-swap-sim", anna.pk), {"sim": new_sim.iccid})
    assert response.status_code == 302
    anna.refresh_from_db()
    assert anna.sim_id == new_sim.pk
    assert Sim.objects.get(pk=old_sim_id).status == SimStatus.RETIRED
    assert anna.terms.get(valid_to__isnull=True).imsi == "262031234500040"


def test_swap_to_an_assigned_sim_is_refused(console_client_for, operator, golden_subscribers):
    anna, ben = golden_subscribers.subscriptions["A"], golden_subscribers.subscriptions["B"]
    response = console_client_for(operator).post(
        url("subscription-swap-sim", anna.pk), {"sim": ben.sim.iccid}
    )
    assert response.status_code == 200
    assert "no available SIM with ICCID" in response.content.decode()


def test_change_plan_opens_a_term_on_the_new_plan(
    console_client_for, operator, golden_catalog, anna
):
    other = catalog_services.plan_save(
        code="SMART-20", name="Smart 20", brand=golden_catalog.brand,
        payment_model="postpaid", currency="EUR",
    )  # fmt: skip
    version = catalog_services.plan_version_create(
        plan=other,
        data={
            "effective_from": dt.datetime(2026, 9, 30, 22, 0, tzinfo=dt.UTC),
            "rate_card": golden_catalog.retail_card,
            "recurring_fee": Decimal("29.99"),
            "fee_timing": "in_advance",
            "tax_category": golden_catalog.tax_category,
        },
    )
    catalog_services.plan_version_publish(version=version)
    response = console_client_for(operator).post(
        url("subscription-change-plan", anna.pk),
        {"plan": other.pk, "change_date": "2026-12-01"},
    )
    assert response.status_code == 302
    anna.refresh_from_db()
    assert anna.plan == other
    term = anna.terms.get(valid_to__isnull=True)
    assert term.valid_from == dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)
    assert term.change == "plan change SMART-10 → SMART-20"


def test_add_on_is_bought_and_removed_through_the_console(
    console_client_for, operator, golden_catalog, anna
):
    add_on = catalog_services.add_on_save(
        data={"code": "DATA-5", "name": "Data 5 GB", "kind": "one_off", "currency": "EUR",
              "price": Decimal("4.99"), "validity_days": 30},
    )  # fmt: skip
    catalog_services.allowance_save(
        owner=add_on,
        data={"name": "Data 5 GB", "services": ["DATA"], "quantity": 5, "unit": "GB"},
    )
    catalog_services.add_on_publish(add_on=add_on)
    client = console_client_for(operator)
    assert (
        client.post(url("subscription-add-addon", anna.pk), {"add_on": add_on.pk}).status_code
        == 302
    )
    bought = anna.add_ons.get()
    page = client.get(url("subscription-detail", anna.pk)).content.decode()
    assert "DATA-5: Data 5 GB" in page and "5.00 GB" in page
    removed = client.post(url("subscription-remove-addon", anna.pk, bought.pk))
    assert removed.status_code == 302
    bought.refresh_from_db()
    assert bought.removed_at is not None


def test_activate_a_pending_subscription(console_client_for, operator, golden_catalog):
    customer = services.customer_save(
        data={"brand": golden_catalog.brand, "kind": "person", "last_name": "Neu"}
    )
    account = services.billing_account_save(
        customer=customer,
        data={"tax_region": golden_catalog.tax_region, "payment_model": "postpaid"},
    )
    pending = services.subscription_create(
        billing_account=account, plan=golden_catalog.plan, msisdn="4915112340050"
    )
    client = console_client_for(operator)
    actions = [
        a["label"] for a in client.get(url("subscription-detail", pending.pk)).context["actions"]
    ]
    assert actions[0] == "Activate"
    client.post(url("subscription-activate", pending.pk))
    assert Subscription.objects.get(pk=pending.pk).status == SubscriptionStatus.ACTIVE


def test_finance_reads_the_lists_but_is_offered_no_change(
    console_client_for, finance, prepaid_account
):
    client = console_client_for(finance)
    customers = client.get(url("customer-list"))
    assert customers.status_code == 200
    assert customers.context["create_url"] is None
    account = client.get(url("billingaccount-detail", prepaid_account.pk))
    assert account.status_code == 200
    assert account.context["actions"] == []
    assert "top_up_form" not in account.context
    assert client.get(url("customer-create")).status_code == 403
    assert client.get(url("voucherbatch-create")).status_code == 403
    assert client.get(url("simbatch-create")).status_code == 403
