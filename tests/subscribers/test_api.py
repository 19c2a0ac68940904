"""The subscribers REST API: TMF629/666/637/654 shapes, brand scoping, lifecycle, top-ups."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from catalog import services as catalog_services
from subscribers import services
from subscribers.models import BalanceMovement, BrandScope, Bucket, SubscriptionTerm
from tests.catalog.builders import BERLIN, OCTOBER_START
from tests.subscribers.builders import iccid_for

pytestmark = pytest.mark.django_db

API = "/api/v1/subscribers/"


def url(path: str) -> str:
    return f"{API}{path}"


def second_plan(catalog, *, code: str = "SMART-20", payment_model: str = "postpaid"):
    """A second published plan of the golden brand, priced by the golden retail card."""
    plan = catalog_services.plan_save(
        code=code, name=code.title(), brand=catalog.brand, payment_model=payment_model,
        currency="EUR",
    )  # fmt: skip
    version = catalog_services.plan_version_create(
        plan=plan,
        data={
            "effective_from": OCTOBER_START,
            "rate_card": catalog.retail_card,
            "recurring_fee": Decimal("29.99") if payment_model == "postpaid" else Decimal("0"),
            "tax_category": catalog.tax_category,
        },
    )
    catalog_services.plan_version_publish(version=version)
    return plan


def prepaid_account(catalog, customer, *, with_subscription: bool = False):
    """A prepaid account of a golden customer, optionally with an active prepaid product."""
    account = services.billing_account_save(
        customer=customer,
        data={"name": "prepaid", "currency": "EUR", "timezone": BERLIN,
              "tax_region": catalog.tax_region, "payment_model": "prepaid"},
    )  # fmt: skip
    if not with_subscription:
        return account, None
    plan = second_plan(catalog, code="PREPAID-5", payment_model="prepaid")
    subscription = services.subscription_create(
        billing_account=account, plan=plan, msisdn="4915112340009"
    )
    subscription = services.subscription_activate(subscription=subscription)
    return account, subscription


def data_add_on(catalog, price: str = "2.99"):
    add_on = catalog_services.add_on_save(
        data={"code": "DATA-1GB", "name": "Data 1 GB", "kind": "one_off", "currency": "EUR",
              "price": Decimal(price), "validity_days": 30, "tax_category": catalog.tax_category},
    )  # fmt: skip
    catalog_services.allowance_save(
        owner=add_on, data={"name": "Data 1 GB", "services": ["DATA"], "quantity": 1, "unit": "GB"}
    )
    return catalog_services.add_on_publish(add_on=add_on)


def load_sims(catalog, imsis: list[str], reference: str = "SPARE"):
    csv_text = "iccid,imsi\n" + "".join(f"{iccid_for(imsi)},{imsi}\n" for imsi in imsis)
    return services.sim_batch_load(
        reference=reference, host_network=catalog.host_network, csv_text=csv_text
    )


def balance(account) -> Decimal:
    return services.balance_of(account)


# --- shapes ---------------------------------------------------------------------------------


def test_customer_list_is_shaped_like_tmf629(golden_subscribers, api_client_for, auditor):
    response = api_client_for(auditor).get(url("customer"), {"ordering": "number"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert response["X-Total-Count"] == "3"
    anna = body["results"][0]
    customer = golden_subscribers.customers["A"]
    account = golden_subscribers.accounts["A"]
    assert anna["id"] == str(customer.pk)
    assert anna["href"] == f"http://testserver{API}customer/{customer.pk}"
    assert anna["@type"] == "Customer"
    assert anna["name"] == "Anna Schmidt"
    assert anna["engagedParty"] == {
        "@type": "Individual",
        "givenName": "Anna",
        "familyName": "Schmidt",
        "tradingName": "",
        "taxId": "",
    }
    assert anna["brand"]["code"] == "LOREM"
    assert anna["brand"]["@referredType"] == "Brand"
    assert anna["account"] == [
        {
            "id": str(account.pk),
            "href": f"http://testserver{API}billingAccount/{account.pk}",
            "name": "Anna Schmidt",
            "@referredType": "BillingAccount",
        }
    ]


def test_billing_account_is_shaped_like_tmf666(golden_subscribers, api_client_for, auditor):
    account = golden_subscribers.accounts["B"]
    body = api_client_for(auditor).get(url(f"billingAccount/{account.pk}")).json()
    assert body["@type"] == "BillingAccount"
    assert body["accountNumber"] == account.number
    assert body["status"] == "active"
    assert body["accountType"] == "B2C"
    assert body["paymentModel"] == "postpaid"
    assert body["currency"] == "EUR"
    assert body["timezone"] == "Europe/Berlin"
    assert body["billingCycleSpecification"] == {"billingDateShift": 1, "frequency": "monthly"}
    assert body["paymentTermsDays"] == 14
    assert body["creditLimit"] == {"unit": "EUR", "value": "0.00"}
    assert body["taxRegion"]["code"] == "DE"
    assert body["customer"]["id"] == str(golden_subscribers.customers["B"].pk)
    assert body["parentAccount"] is None
    assert body["invoiceToParent"] is False


@time_machine.travel(dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC), tick=False)
def test_product_is_shaped_like_tmf637(golden_subscribers, golden_catalog, api_client_for, auditor):
    subscription = golden_subscribers.subscriptions["C"]
    body = api_client_for(auditor).get(url(f"product/{subscription.pk}")).json()
    assert body["@type"] == "Product"
    assert body["status"] == "terminated"
    assert body["plan"]["code"] == "SMART-10"
    assert body["plan"]["@referredType"] == "Plan"
    assert body["productOffering"]["id"] == str(golden_catalog.version.pk)
    assert body["productOffering"]["code"] == "SMART-10"
    assert body["productOffering"]["version"] == 1
    assert body["productOffering"]["@referredType"] == "ProductOffering"
    assert body["productOffering"]["href"].endswith(f"/productOffering/{golden_catalog.version.pk}")
    assert body["msisdn"] == "4915112340003"
    assert body["imsi"] == "262031234500003"
    assert body["iccid"] == iccid_for("262031234500003")
    assert body["realizingResource"][0]["name"] == body["iccid"]
    assert body["startDate"] == "2026-09-30T22:00:00Z"
    assert body["terminationDate"] == "2026-10-19T22:00:00Z"
    assert body["billingAccount"]["id"] == str(golden_subscribers.accounts["C"].pk)
    assert body["customer"]["name"] == "Carla Weber"
    assert body["addOns"] == []


def test_product_is_found_by_its_msisdn(golden_subscribers, api_client_for, auditor):
    client = api_client_for(auditor)
    for written in ("4915112340002", "+4915112340002", "004915112340002"):
        body = client.get(url("product"), {"msisdn": written}).json()
        assert body["count"] == 1, written
        assert body["results"][0]["id"] == str(golden_subscribers.subscriptions["B"].pk)
    assert client.get(url("product"), {"msisdn": "4915199990000"}).json()["count"] == 0


def test_product_terms_show_each_stretch(golden_subscribers, api_client_for, auditor):
    subscription = golden_subscribers.subscriptions["B"]
    body = api_client_for(auditor).get(url(f"product/{subscription.pk}/terms")).json()
    assert [(term["status"], term["validFor"]) for term in body] == [
        ("pending", {"startDateTime": "2026-10-09T22:00:00Z",
                     "endDateTime": "2026-10-14T22:00:00Z"}),
        ("active", {"startDateTime": "2026-10-14T22:00:00Z", "endDateTime": None}),
    ]  # fmt: skip
    assert body[1]["plan"]["code"] == "SMART-10"
    assert (body[1]["productOffering"]["code"], body[1]["productOffering"]["version"]) == (
        "SMART-10",
        1,
    )
    assert body[1]["imsi"] == "262031234500002"


# --- brand scoping --------------------------------------------------------------------------


def test_user_of_another_brand_sees_none_of_the_golden_subscribers(
    golden_subscribers, make_user, api_client_for
):
    other = catalog_services.brand_save(code="IPSUM", name="Ipsum Mobile")
    user = make_user("ipsum-operator", "operator")
    BrandScope.objects.create(user=user, brand=other)
    client = api_client_for(user)
    for resource in ("customer", "billingAccount", "product", "accumulatedBalance"):
        assert client.get(url(resource)).json()["count"] == 0, resource
    customer = golden_subscribers.customers["A"]
    account = golden_subscribers.accounts["A"]
    subscription = golden_subscribers.subscriptions["A"]
    for path in (
        f"customer/{customer.pk}",
        f"billingAccount/{account.pk}",
        f"product/{subscription.pk}",
        f"product/{subscription.pk}/terms",
        f"accumulatedBalance/{account.pk}",
    ):
        assert client.get(url(path)).status_code == 404, path
    response = client.post(url(f"product/{subscription.pk}/suspend"), {}, format="json")
    assert response.status_code == 404
    assert SubscriptionTerm.objects.filter(subscription=subscription).count() == 2


def test_user_of_another_brand_cannot_refer_to_a_golden_account(
    golden_subscribers, golden_catalog, make_user, api_client_for
):
    other = catalog_services.brand_save(code="IPSUM", name="Ipsum Mobile")
    user = make_user("ipsum-operator", "operator")
    BrandScope.objects.create(user=user, brand=other)
    account = golden_subscribers.accounts["A"]
    response = api_client_for(user).post(
        url("product"),
        {"billingAccount": {"id": str(account.pk)},
         "plan": {"id": str(golden_catalog.plan.pk)}, "msisdn": "4915112340008"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["fieldErrors"] == {
        "billingAccount": [f"no billing account with id {account.pk}"]
    }


# --- creating customers, accounts, SIMs and products ----------------------------------------


def test_operator_creates_customer_account_sims_and_a_pending_product(
    golden_catalog, api_client_for, operator
):
    client = api_client_for(operator)
    response = client.post(
        url("customer"),
        {
            "brand": {"id": str(golden_catalog.brand.pk)},
            "engagedParty": {"@type": "Individual", "givenName": "Dora", "familyName": "Klein"},
            "contactMedium": [
                {"mediumType": "email", "characteristic": {"emailAddress": "dora@example.org"}},
                {"mediumType": "postalAddress",
                 "characteristic": {"street1": "Hauptstr. 1", "postCode": "10115",
                                    "city": "Berlin", "country": "de"}},
            ],
            "externalId": "CRM-77",
        },
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    customer = response.json()
    assert customer["name"] == "Dora Klein"
    assert customer["contactMedium"][1]["characteristic"]["country"] == "DE"

    response = client.post(
        url("billingAccount"),
        {"customer": {"id": customer["id"]}, "name": "Dora", "paymentModel": "postpaid",
         "currency": "EUR", "taxRegion": {"id": str(golden_catalog.tax_region.pk)},
         "billingCycleSpecification": {"billingDateShift": 15}, "paymentTermsDays": 10,
         "creditLimit": {"unit": "EUR", "value": "50.00"}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    account = response.json()
    assert account["billingCycleSpecification"]["billingDateShift"] == 15
    assert account["creditLimit"] == {"unit": "EUR", "value": "50.00"}

    imsi = "262031234500042"
    upload = SimpleUploadedFile(
        "sims.csv", f"iccid,imsi\n{iccid_for(imsi)},{imsi}\n".encode(), content_type="text/csv"
    )
    response = client.post(
        url("simBatch"),
        {"reference": "DELIVERY-1", "hostNetwork": "HOSTNET", "file": upload},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["count"] == 1

    response = client.post(
        url("product"),
        {"billingAccount": {"id": account["id"]},
         "plan": {"id": str(golden_catalog.plan.pk)},
         "msisdn": "+49 151 12340042", "sim": {"iccid": iccid_for(imsi)}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    product = response.json()
    assert product["status"] == "pending"
    assert product["msisdn"] == "4915112340042"
    assert product["imsi"] == imsi
    assert (
        client.get(url("sim"), {"iccid": iccid_for(imsi)}).json()["results"][0]["status"]
        == "assigned"
    )

    response = client.post(url(f"product/{product['id']}/activate"), {}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    assert response.json()["startDate"] is not None


def test_a_business_customer_with_a_bad_vat_number_is_a_400(
    golden_catalog, api_client_for, operator
):
    response = api_client_for(operator).post(
        url("customer"),
        {"brand": {"id": str(golden_catalog.brand.pk)},
         "engagedParty": {"@type": "Organization", "tradingName": "Acme GmbH",
                          "taxId": "DE000000000"}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["fieldErrors"] == {
        "engagedParty.taxId": ["DE000000000 is not a valid EU VAT number"]
    }


def test_sim_batch_with_a_bad_line_loads_nothing(golden_catalog, api_client_for, operator):
    good = "262031234500051"
    csv_bytes = f"iccid,imsi\n{iccid_for(good)},{good}\n8949031234500052,262031234500052\n"
    upload = SimpleUploadedFile("sims.csv", csv_bytes.encode(), content_type="text/csv")
    response = api_client_for(operator).post(
        url("simBatch"),
        {"reference": "BAD", "hostNetwork": "HOSTNET", "file": upload},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["fieldErrors"]["file"][0].startswith("line 3: ")
    assert api_client_for(operator).get(url("sim")).json()["count"] == 0


# --- lifecycle ------------------------------------------------------------------------------


def test_suspend_reactivate_and_port_out_through_the_api(
    golden_subscribers, api_client_for, operator
):
    client = api_client_for(operator)
    subscription = golden_subscribers.subscriptions["A"]
    base = url(f"product/{subscription.pk}")
    suspended = client.post(f"{base}/suspend", {"reason": "lost phone"}, format="json")
    assert suspended.status_code == 200
    assert suspended.json()["status"] == "suspended"
    assert client.post(f"{base}/reactivate", {}, format="json").json()["status"] == "active"
    assert client.post(f"{base}/bar", {}, format="json").json()["status"] == "barred"
    ended = client.post(f"{base}/terminate", {"portOut": True}, format="json")
    assert ended.status_code == 200
    assert ended.json()["status"] == "terminated"
    terms = client.get(f"{base}/terms").json()
    assert [term["change"] for term in terms[-4:]] == [
        "lost phone",
        "reactivate",
        "bar",
        "port out",
    ]
    assert subscription.history.first().history_user == operator


def test_an_illegal_move_is_a_400_with_a_message(golden_subscribers, api_client_for, operator):
    subscription = golden_subscribers.subscriptions["C"]
    response = api_client_for(operator).post(
        url(f"product/{subscription.pk}/activate"), {}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["@type"] == "Error"
    assert body["fieldErrors"] == {"status": ["cannot activate a subscription that is terminated"]}
    assert body["message"] == "status: cannot activate a subscription that is terminated"


def test_an_effective_date_without_offset_is_refused(golden_subscribers, api_client_for, operator):
    subscription = golden_subscribers.subscriptions["A"]
    response = api_client_for(operator).post(
        url(f"product/{subscription.pk}/suspend"),
        {"effectiveDate": "2026-11-28T10:00:00"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["fieldErrors"]) == ["effectiveDate"]


def test_change_plan_moves_the_product_to_a_second_plan(
    golden_subscribers, golden_catalog, api_client_for, operator
):
    smart_20 = second_plan(golden_catalog)
    subscription = golden_subscribers.subscriptions["A"]
    response = api_client_for(operator).post(
        url(f"product/{subscription.pk}/changePlan"),
        {"plan": {"id": str(smart_20.pk)}, "changeDate": "2026-12-01"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["plan"]["code"] == "SMART-20"
    last = subscription.terms.get(valid_to__isnull=True)
    assert last.plan == smart_20
    assert last.valid_from == dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)
    assert last.change == "plan change SMART-10 → SMART-20"


def test_change_plan_to_the_same_plan_is_a_400(
    golden_subscribers, golden_catalog, api_client_for, operator
):
    subscription = golden_subscribers.subscriptions["A"]
    response = api_client_for(operator).post(
        url(f"product/{subscription.pk}/changePlan"),
        {"plan": {"id": str(golden_catalog.plan.pk)}, "changeDate": "2026-12-01"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fieldErrors"] == {"plan": ["the subscription is on this plan already"]}


def test_change_plan_to_an_offering_names_the_version_in_force_at_the_change(
    golden_subscribers, golden_catalog, api_client_for, operator
):
    smart_20 = second_plan(golden_catalog)
    offering = smart_20.versions.get()
    subscription = golden_subscribers.subscriptions["A"]
    response = api_client_for(operator).post(
        url(f"product/{subscription.pk}/changePlan"),
        {"productOffering": {"id": str(offering.pk)}, "changeDate": "2026-12-01"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert subscription.terms.get(valid_to__isnull=True).plan == smart_20


def test_change_plan_to_the_offering_of_the_same_plan_is_a_400_on_product_offering(
    golden_subscribers, golden_catalog, api_client_for, operator
):
    subscription = golden_subscribers.subscriptions["A"]
    response = api_client_for(operator).post(
        url(f"product/{subscription.pk}/changePlan"),
        {"productOffering": {"id": str(golden_catalog.version.pk)}, "changeDate": "2026-12-01"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["fieldErrors"] == {
        "productOffering": ["the subscription is on this plan already"]
    }


def _order(client, account, golden_catalog, msisdn: str, **offering):
    return client.post(
        url("product"),
        {"billingAccount": {"id": str(account.pk)}, "msisdn": msisdn,
         "orderDate": "2026-11-02T09:00:00Z", **offering},
        format="json",
    )  # fmt: skip


def test_a_product_is_ordered_by_the_offering_in_force(
    golden_subscribers, golden_catalog, api_client_for, operator
):
    account = golden_subscribers.accounts["A"]
    offering = {"productOffering": {"id": str(golden_catalog.version.pk)}}
    response = _order(
        api_client_for(operator), account, golden_catalog, "4915112340051", **offering
    )
    assert response.status_code == 201, response.json()
    assert response.json()["plan"]["code"] == "SMART-10"


def test_an_offering_not_in_force_at_the_order_is_a_400_naming_the_one_in_force(
    golden_subscribers, golden_catalog, api_client_for, operator
):
    later = catalog_services.plan_version_clone(
        version=golden_catalog.version,
        effective_from=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )
    catalog_services.plan_version_publish(version=later)
    account = golden_subscribers.accounts["A"]
    offering = {"productOffering": {"id": str(later.pk)}}
    response = _order(
        api_client_for(operator), account, golden_catalog, "4915112340052", **offering
    )
    assert response.status_code == 400
    assert response.json()["fieldErrors"] == {
        "productOffering": [
            f"SMART-10 v2 is not in force then; the offering in force is SMART-10 v1 "
            f"(id {golden_catalog.version.pk})"
        ]
    }


def test_a_draft_offering_or_both_references_or_none_are_400s(
    golden_subscribers, golden_catalog, api_client_for, operator
):
    draft = catalog_services.plan_version_clone(
        version=golden_catalog.version, effective_from=dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    )
    client, account = api_client_for(operator), golden_subscribers.accounts["A"]
    refused = {
        "draft": {"productOffering": {"id": str(draft.pk)}},
        "both": {
            "productOffering": {"id": str(golden_catalog.version.pk)},
            "plan": {"id": str(golden_catalog.plan.pk)},
        },
        "none": {},
    }
    errors = {
        name: _order(client, account, golden_catalog, "4915112340053", **body).json()["fieldErrors"]
        for name, body in refused.items()
    }
    assert errors == {
        "draft": {"productOffering": [f"no plan version with id {draft.pk}"]},
        "both": {"plan": ["name the productOffering or the plan, not both"]},
        "none": {"productOffering": ["required: the offering (a plan version) or the plan"]},
    }


def test_swap_sim_moves_the_product_to_a_spare_sim(
    golden_subscribers, golden_catalog, api_client_for, operator
):
    load_sims(golden_catalog, ["262031234500061"])
    subscription = golden_subscribers.subscriptions["B"]
    response = api_client_for(operator).post(
        url(f"product/{subscription.pk}/swapSim"),
        {"sim": {"iccid": iccid_for("262031234500061")}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["imsi"] == "262031234500061"


def test_add_and_remove_an_add_on(golden_subscribers, golden_catalog, api_client_for, operator):
    add_on = data_add_on(golden_catalog)
    subscription = golden_subscribers.subscriptions["A"]
    client = api_client_for(operator)
    added = client.post(
        url(f"product/{subscription.pk}/addAddOn"), {"addOn": {"id": str(add_on.pk)}}, format="json"
    )
    assert added.status_code == 200, added.json()
    entry = added.json()["addOns"][0]
    assert entry["addOn"]["code"] == "DATA-1GB"
    assert entry["removedAt"] is None
    removed = client.post(
        url(f"product/{subscription.pk}/removeAddOn"),
        {"productAddOn": {"id": entry["id"]}},
        format="json",
    )
    assert removed.status_code == 200
    assert removed.json()["addOns"][0]["removedAt"] is not None
    other = golden_subscribers.subscriptions["B"]
    refused = client.post(
        url(f"product/{other.pk}/removeAddOn"), {"productAddOn": {"id": entry["id"]}}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["fieldErrors"] == {"productAddOn": ["not an add-on of this product"]}


def test_prepaid_add_on_is_charged_once_for_one_idempotency_key(
    golden_subscribers, golden_catalog, api_client_for, operator
):
    account, subscription = prepaid_account(
        golden_catalog, golden_subscribers.customers["A"], with_subscription=True
    )
    services.top_up(
        billing_account=account, amount=Decimal("10.00"), channel="card", reference="T1"
    )
    add_on = data_add_on(golden_catalog)
    client = api_client_for(operator)
    path = url(f"product/{subscription.pk}/addAddOn")
    first = client.post(
        path, {"addOn": {"id": str(add_on.pk)}}, format="json", HTTP_IDEMPOTENCY_KEY="a1"
    )
    again = client.post(
        path, {"addOn": {"id": str(add_on.pk)}}, format="json", HTTP_IDEMPOTENCY_KEY="a1"
    )
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert balance(account) == Decimal("7.01")
    assert Bucket.objects.filter(subscription=subscription).count() == 1


# --- balances -------------------------------------------------------------------------------


def test_top_up_replayed_with_its_key_changes_the_balance_once(
    golden_subscribers, golden_catalog, api_client_for, operator
):
    account, _ = prepaid_account(golden_catalog, golden_subscribers.customers["A"])
    client = api_client_for(operator)
    body = {"billingAccount": {"id": str(account.pk)}, "amount": {"unit": "EUR", "value": "20.00"},
            "channel": "card", "reference": "PSP-1"}  # fmt: skip
    first = client.post(url("topupBalance"), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post(url("topupBalance"), body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert first.json()["@type"] == "TopupBalance"
    assert first.json()["amount"] == {"unit": "EUR", "value": "20.00"}
    assert first.json()["channel"] == "card"
    assert balance(account) == Decimal("20.00")
    assert BalanceMovement.objects.filter(billing_account=account).count() == 1


def test_top_up_key_reused_with_another_body_is_a_409(
    golden_subscribers, golden_catalog, api_client_for, operator
):
    account, _ = prepaid_account(golden_catalog, golden_subscribers.customers["A"])
    client = api_client_for(operator)
    body = {"billingAccount": {"id": str(account.pk)}, "amount": {"unit": "EUR", "value": "20.00"},
            "channel": "card", "reference": "PSP-1"}  # fmt: skip
    client.post(url("topupBalance"), body, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = {**body, "amount": {"unit": "EUR", "value": "25.00"}}
    response = client.post(url("topupBalance"), other, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 409
    assert response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert balance(account) == Decimal("20.00")


def test_top_up_refusals_are_400s(golden_subscribers, golden_catalog, api_client_for, operator):
    prepaid, _ = prepaid_account(golden_catalog, golden_subscribers.customers["A"])
    client = api_client_for(operator)

    def top_up(account, unit="EUR", value="5.00", reference="R"):
        body = {"billingAccount": {"id": str(account.pk)}, "amount": {"unit": unit, "value": value},
                "channel": "partner", "reference": reference}  # fmt: skip
        return client.post(url("topupBalance"), body, format="json")

    assert top_up(prepaid, unit="USD").json()["fieldErrors"] == {
        "amount.unit": ["the account is in EUR, not USD"]
    }
    postpaid = golden_subscribers.accounts["A"]
    assert top_up(postpaid).json()["fieldErrors"] == {
        "billingAccount": ["a postpaid account has no prepaid balance"]
    }
    assert top_up(prepaid).status_code == 201
    assert top_up(prepaid).json()["fieldErrors"] == {
        "reference": ["a partner top-up with reference R exists already"]
    }
    assert top_up(prepaid, value="1.005", reference="S").status_code == 400
    assert balance(prepaid) == Decimal("5.00")


def test_voucher_batch_shows_its_codes_once_and_a_voucher_redeems_once(
    golden_subscribers, golden_catalog, api_client_for, operator
):
    account, _ = prepaid_account(golden_catalog, golden_subscribers.customers["B"])
    client = api_client_for(operator)
    created = client.post(
        url("voucherBatch"),
        {"reference": "XMAS", "brand": {"id": str(golden_catalog.brand.pk)},
         "value": {"unit": "EUR", "value": "15.00"}, "count": 2},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    batch = created.json()
    assert [voucher["serial"] for voucher in batch["vouchers"]] == ["XMAS-000001", "XMAS-000002"]
    assert created["Cache-Control"] == "no-store"
    shown = client.get(url(f"voucherBatch/{batch['id']}")).json()
    assert "vouchers" not in shown
    assert shown["value"] == {"unit": "EUR", "value": "15.00"}

    redeem = {"code": batch["vouchers"][0]["code"], "billingAccount": {"id": str(account.pk)}}
    first = client.post(url("voucher/redeem"), redeem, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["channel"] == "voucher"
    assert first.json()["voucher"] == "XMAS-000001"
    second = client.post(url("voucher/redeem"), redeem, format="json")
    assert second.status_code == 400
    assert second.json()["fieldErrors"] == {"code": ["this voucher is redeemed"]}
    assert balance(account) == Decimal("15.00")
    assert client.get(url(f"voucherBatch/{batch['id']}")).json()["redeemedCount"] == 1


def test_voucher_redeem_replayed_with_its_key_tops_up_once(
    golden_subscribers, golden_catalog, api_client_for, operator
):
    account, _ = prepaid_account(golden_catalog, golden_subscribers.customers["B"])
    _, codes = services.voucher_batch_create(
        reference="V", brand=golden_catalog.brand, value=Decimal("5.00"), currency="EUR", count=1
    )
    client = api_client_for(operator)
    redeem = {"code": codes[0][1], "billingAccount": {"id": str(account.pk)}}
    first = client.post(url("voucher/redeem"), redeem, format="json", HTTP_IDEMPOTENCY_KEY="v")
    again = client.post(url("voucher/redeem"), redeem, format="json", HTTP_IDEMPOTENCY_KEY="v")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert balance(account) == Decimal("5.00")


def test_accumulated_balance_and_ledger_of_an_account(
    golden_subscribers, golden_catalog, api_client_for, operator, auditor
):
    account, _ = prepaid_account(golden_catalog, golden_subscribers.customers["A"])
    services.top_up(
        billing_account=account, amount=Decimal("12.50"), channel="card", reference="C1"
    )
    response = api_client_for(operator).post(
        url("adjustBalance"),
        {"billingAccount": {"id": str(account.pk)}, "amount": {"unit": "EUR", "value": "-2.25"},
         "reason": "goodwill correction", "reference": "TICKET-9"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    assert response.json()["amount"] == {"unit": "EUR", "value": "-2.25"}
    assert response.json()["@type"] == "AdjustBalance"

    client = api_client_for(auditor)
    accumulated = client.get(url(f"accumulatedBalance/{account.pk}")).json()
    assert accumulated["@type"] == "AccumulatedBalance"
    assert accumulated["totalBalance"] == {"unit": "EUR", "value": "10.25"}
    assert accumulated["availableBalance"] == {"unit": "EUR", "value": "10.25"}
    assert accumulated["billingAccount"]["id"] == str(account.pk)
    ledger = client.get(url("balanceAction"), {"billingAccount": account.pk, "ordering": "id"})
    assert [(row["actionType"], row["amount"]["value"]) for row in ledger.json()["results"]] == [
        ("topup", "12.50"),
        ("adjustment", "-2.25"),
    ]
    other = golden_subscribers.accounts["B"].pk
    assert client.get(url("balanceAction"), {"billingAccount": other}).json()["count"] == 0


# A bucket's status is read against the clock: the test stands inside its validity on any day.
@time_machine.travel(dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC), tick=False)
def test_bucket_adjustment_and_remaining_value(
    golden_subscribers, api_client_for, operator, auditor
):
    subscription = golden_subscribers.subscriptions["A"]
    period_end = dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC)
    start = dt.datetime(2026, 10, 31, 23, 0, tzinfo=dt.UTC)
    services.buckets_grant_for_period(
        subscription=subscription, period_start=start, period_end=period_end
    )
    voice = Bucket.objects.get(subscription=subscription, unit="SECOND")
    response = api_client_for(operator).post(
        url("adjustBalance"),
        {"bucket": {"id": str(voice.pk)}, "quantity": 600, "reason": "network outage"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["quantity"] == {"amount": 600, "units": "SECOND"}
    body = api_client_for(auditor).get(url("bucket"), {"product": subscription.pk}).json()
    assert body["count"] == 3
    shown = next(row for row in body["results"] if row["id"] == str(voice.pk))
    assert shown["initialValue"] == {"amount": 6000, "units": "SECOND"}
    assert shown["remainingValue"] == {"amount": 6600, "units": "SECOND"}
    assert shown["status"] == "active"
    assert shown["validFor"] == {
        "startDateTime": "2026-10-31T23:00:00Z",
        "endDateTime": "2026-11-30T23:00:00Z",
    }
    accumulated = api_client_for(auditor).get(
        url(f"accumulatedBalance/{golden_subscribers.accounts['A'].pk}")
    )
    assert len(accumulated.json()["bucket"]) == 3


def test_an_adjustment_names_money_or_units_not_both(golden_subscribers, api_client_for, operator):
    account = golden_subscribers.accounts["A"]
    response = api_client_for(operator).post(
        url("adjustBalance"),
        {"billingAccount": {"id": str(account.pk)}, "quantity": 5, "reason": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert "either money" in response.json()["message"]


# --- permissions ----------------------------------------------------------------------------


def test_finance_reads_but_cannot_write(
    golden_subscribers, golden_catalog, api_client_for, finance
):
    account, _ = prepaid_account(golden_catalog, golden_subscribers.customers["A"])
    client = api_client_for(finance)
    subscription = golden_subscribers.subscriptions["A"]
    assert client.get(url("customer")).status_code == 200
    assert client.get(url(f"product/{subscription.pk}/terms")).status_code == 200
    writes = [
        ("customer", {}),
        ("product", {}),
        (f"product/{subscription.pk}/suspend", {}),
        (f"product/{subscription.pk}/addAddOn", {}),
        ("topupBalance", {"billingAccount": {"id": str(account.pk)},
                          "amount": {"unit": "EUR", "value": "5.00"}, "channel": "card",
                          "reference": "F"}),
        ("adjustBalance", {}),
        ("voucher/redeem", {}),
        ("voucherBatch", {}),
    ]  # fmt: skip
    for path, body in writes:
        response = client.post(url(path), body, format="json")
        assert response.status_code == 403, path
        assert response.json()["@type"] == "Error"
    assert balance(account) == Decimal("0")


def test_auditor_cannot_move_a_product(golden_subscribers, api_client_for, auditor):
    subscription = golden_subscribers.subscriptions["A"]
    response = api_client_for(auditor).post(
        url(f"product/{subscription.pk}/terminate"), {}, format="json"
    )
    assert response.status_code == 403


def test_anonymous_is_401(db):
    client = APIClient()
    for method, path in (("get", "customer"), ("get", "product"), ("post", "topupBalance"),
                         ("post", "adjustBalance"), ("post", "voucher/redeem")):  # fmt: skip
        if method == "get":
            response = client.get(url(path))
        else:
            response = client.post(url(path), {}, format="json")
        assert response.status_code == 401, path
        assert response.json()["code"] == "NOT_AUTHENTICATED"


def test_schema_documents_the_subscribers_api(api_client_for, auditor):
    schema = api_client_for(auditor).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert "/api/v1/subscribers/product/{id}/changePlan/" in paths
    assert "/api/v1/subscribers/topupBalance/" in paths
    assert (
        "multipart/form-data"
        in paths["/api/v1/subscribers/simBatch/"]["post"]["requestBody"]["content"]
    )


def test_patch_changes_only_the_fields_it_names(golden_subscribers, api_client_for, operator):
    client = api_client_for(operator)
    customer = golden_subscribers.customers["A"]
    response = client.patch(
        url(f"customer/{customer.pk}"),
        {"contactMedium": [{"mediumType": "phone", "characteristic": {"phoneNumber": "+4930123"}}]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["contactMedium"] == [
        {"mediumType": "phone", "characteristic": {"phoneNumber": "+4930123"}}
    ]
    assert response.json()["engagedParty"]["familyName"] == "Schmidt"
    account = golden_subscribers.accounts["A"]
    response = client.patch(
        url(f"billingAccount/{account.pk}"),
        {"paymentTermsDays": 30, "creditLimit": {"unit": "EUR", "value": "100.00"}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["paymentTermsDays"] == 30
    assert response.json()["creditLimit"] == {"unit": "EUR", "value": "100.00"}
    assert response.json()["billingCycleSpecification"]["billingDateShift"] == 1
    moved = client.patch(
        url(f"billingAccount/{account.pk}"),
        {"customer": {"id": str(golden_subscribers.customers["B"].pk)}},
        format="json",
    )
    assert moved.status_code == 400
    assert moved.json()["fieldErrors"] == {"customer": ["an account stays with its customer"]}


def test_a_top_up_with_malformed_reference_and_amount_gets_field_errors_not_a_500(
    golden_subscribers, golden_catalog, api_client_for, operator
):
    account, _ = prepaid_account(golden_catalog, golden_subscribers.customers["A"])
    body = {"billingAccount": str(account.pk), "amount": "20.00", "channel": "card",
            "reference": "PSP-bad"}  # fmt: skip
    response = api_client_for(operator).post(url("topupBalance"), body, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    assert 'e.g. {"id": "7"}' in str(errors)  # the reference's shape, braces and all
    assert 'money is an object {"unit": "EUR"' in str(errors)
    assert balance(account) == Decimal("0")


@pytest.mark.parametrize(
    "body",
    [
        {"engagedParty": {"@type": {"x": 1}}},
        {"engagedParty": {"@type": ["Individual"]}},
        {"contactMedium": [{"mediumType": {"x": 1}, "characteristic": {}}]},
        {"contactMedium": [{"mediumType": ["email"], "characteristic": {}}]},
    ],
)
def test_a_party_or_medium_type_that_is_not_text_is_a_field_error(
    golden_subscribers, api_client_for, operator, body
):
    customer = golden_subscribers.customers["A"]
    response = api_client_for(operator).patch(url(f"customer/{customer.pk}"), body, format="json")
    assert response.status_code == 400, response.content  # was a TypeError (500)
    assert response.json()["fieldErrors"]
