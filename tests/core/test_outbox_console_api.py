"""The outbox's console pages and API: who may change what, brand scope, field errors."""

import json

import pytest
from django.urls import reverse

from core.models import DeliveryState, OutboxEvent, WebhookDelivery, WebhookEndpoint
from core.outbox import publish, register_event_types
from core.outbox import services as outbox
from subscribers.models import BrandScope
from tests.catalog.factories import BrandFactory
from tests.core.webhook_server import start_receiver

pytestmark = pytest.mark.django_db

API = "/api/v1/eventManagement"

register_event_types({"example.issued": "An example was issued."})


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def two_brands(receiver, django_capture_on_commit_callbacks):
    """Two brands, an endpoint and a delivered event of each."""
    lorem, ipsum = BrandFactory(code="LOREM"), BrandFactory(code="IPSUM")
    endpoints = {}
    for brand in (lorem, ipsum):
        endpoints[brand.code] = outbox.webhook_endpoint_save(
            data={"name": f"CRM {brand.code}", "url": receiver.url, "brand": brand}
        )
        with django_capture_on_commit_callbacks(execute=True):
            publish(event_type="example.issued", payload={"n": brand.code}, brand=brand)
    return {"brands": {"LOREM": lorem, "IPSUM": ipsum}, "endpoints": endpoints}


@pytest.fixture
def lorem_finance(two_brands, make_user):
    user = make_user("lorem-finance", "finance")
    BrandScope.objects.create(user=user, brand=two_brands["brands"]["LOREM"])
    return user


def delivery_of(endpoint) -> WebhookDelivery:
    return WebhookDelivery.objects.get(endpoint=endpoint, event__is_test=False)


# --- console ----------------------------------------------------------------------------------


def test_webhooks_are_in_the_console_navigation(console_client_for, auditor):
    page = console_client_for(auditor).get("/").content.decode()
    assert reverse("webhook-list") in page
    assert reverse("webhook-delivery-list") in page


def test_finance_creates_an_endpoint_and_reveals_its_secret(console_client_for, finance):
    client = console_client_for(finance)
    response = client.post(
        reverse("webhook-create"),
        {"name": "ERP", "url": "https://erp.example.test/hooks", "event_types": ["webhook.test"],
         "is_active": "on"},
    )  # fmt: skip
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and response.url == endpoint.get_absolute_url()
    assert endpoint.event_types == ["webhook.test"] and endpoint.brand is None
    detail = client.get(endpoint.get_absolute_url()).content.decode()
    assert endpoint.secret not in detail  # only on its own page
    assert "Rotate secret" in detail
    secret_page = client.get(reverse("webhook-secret", args=[endpoint.pk])).content.decode()
    assert endpoint.secret in secret_page

    client.post(reverse("webhook-rotate", args=[endpoint.pk]))
    rotated = WebhookEndpoint.objects.get()
    assert rotated.secret != endpoint.secret and rotated.secret.startswith("whsec_")
    history = rotated.history.all()
    assert history.count() == 2
    assert not hasattr(history.first(), "secret")  # the audit trail never holds a secret


def test_a_bad_url_or_an_unknown_type_is_a_form_error(console_client_for, finance):
    response = console_client_for(finance).post(
        reverse("webhook-create"), {"name": "x", "url": "ftp://x", "event_types": ["nope.nope"]}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "url" in errors and "event_types" in errors
    assert not WebhookEndpoint.objects.exists()


def test_operator_and_auditor_read_but_do_not_change(
    two_brands, console_client_for, operator, auditor
):
    endpoint = two_brands["endpoints"]["LOREM"]
    delivery = delivery_of(endpoint)
    for user in (operator, auditor):
        client = console_client_for(user)
        assert client.get(reverse("webhook-list")).status_code == 200
        page = client.get(endpoint.get_absolute_url()).content.decode()
        assert "Rotate secret" not in page
        assert client.get(delivery.get_absolute_url()).status_code == 200
        for name in ("webhook-edit", "webhook-secret", "webhook-rotate", "webhook-test"):
            assert client.get(reverse(name, args=[endpoint.pk])).status_code == 403
        assert client.post(reverse("webhook-rotate", args=[endpoint.pk])).status_code == 403
        retry = reverse("webhook-delivery-retry", args=[delivery.pk])
        assert client.post(retry).status_code == 403
        assert client.get(reverse("webhook-create")).status_code == 403


def test_the_delivery_page_shows_the_payload_and_every_attempt(
    two_brands, console_client_for, auditor
):
    delivery = delivery_of(two_brands["endpoints"]["LOREM"])
    page = console_client_for(auditor).get(delivery.get_absolute_url()).content.decode()
    assert str(delivery.event.event_id) in page
    assert "&quot;n&quot;: &quot;LOREM&quot;" in page  # the payload, indented
    assert "example.issued" in page and "An example was issued." in page
    assert 'id="attempts"' in page and "200" in page


def test_retry_now_from_the_console(
    receiver, console_client_for, finance, django_capture_on_commit_callbacks, settings
):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    receiver.status = 500
    endpoint = outbox.webhook_endpoint_save(data={"name": "ERP", "url": receiver.url})
    with django_capture_on_commit_callbacks(execute=True):
        publish(event_type="example.issued", payload={})
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.FAILED
    client = console_client_for(finance)
    page = client.get(delivery.get_absolute_url()).content.decode()
    assert "Retry now" in page
    confirm = client.get(reverse("webhook-delivery-retry", args=[delivery.pk]))
    assert confirm.status_code == 200 and b"one more attempt" in confirm.content

    receiver.status = 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("webhook-delivery-retry", args=[delivery.pk]))

    assert response.status_code == 302 and response.url == delivery.get_absolute_url()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 2
    assert receiver.count() == 2
    assert endpoint.deliveries.count() == 1


def test_send_a_test_event_from_the_console(
    receiver, console_client_for, admin_user, django_capture_on_commit_callbacks
):
    endpoint = outbox.webhook_endpoint_save(
        data={"name": "ERP", "url": receiver.url, "event_types": ["example.issued"]}
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = console_client_for(admin_user).post(reverse("webhook-test", args=[endpoint.pk]))
    delivery = WebhookDelivery.objects.get()
    assert response.url == delivery.get_absolute_url()
    assert delivery.event.event_type == "webhook.test" and delivery.event.is_test
    assert delivery.state == DeliveryState.DELIVERED
    assert json.loads(receiver.requests[0].body)["test"] is True


def test_the_deliveries_list_filters_and_exports(two_brands, console_client_for, auditor):
    client = console_client_for(auditor)
    lorem = two_brands["endpoints"]["LOREM"]
    listing = client.get(
        reverse("webhook-delivery-list"),
        {"state": "delivered", "event_type": "example.issued", "endpoint": lorem.pk,
         "created_at_min": "2000-01-01"},
    )  # fmt: skip
    assert listing.status_code == 200
    assert [row.record.pk for row in listing.context["table"].rows] == [delivery_of(lorem).pk]
    csv = client.get(reverse("webhook-delivery-list"), {"state": "failed", "_export": "csv"})
    assert csv.status_code == 200
    assert len(b"".join(csv.streaming_content).decode().strip().splitlines()) == 1  # header


# --- brand scope sweep ------------------------------------------------------------------------


def test_a_brand_limited_user_sees_and_acts_only_on_their_brand_in_the_console(
    two_brands, lorem_finance, console_client_for
):
    client = console_client_for(lorem_finance)
    own, other = two_brands["endpoints"]["LOREM"], two_brands["endpoints"]["IPSUM"]
    own_delivery, other_delivery = delivery_of(own), delivery_of(other)

    endpoints = client.get(reverse("webhook-list")).context["table"]
    assert [row.record.pk for row in endpoints.rows] == [own.pk]
    deliveries = client.get(reverse("webhook-delivery-list")).context["table"]
    assert [row.record.pk for row in deliveries.rows] == [own_delivery.pk]
    assert client.get(own.get_absolute_url()).status_code == 200
    for name in ("webhook-detail", "webhook-edit", "webhook-secret", "webhook-rotate"):
        assert client.get(reverse(name, args=[other.pk])).status_code == 404
    assert client.post(reverse("webhook-test", args=[other.pk])).status_code == 404
    assert client.get(other_delivery.get_absolute_url()).status_code == 404
    retry = reverse("webhook-delivery-retry", args=[other_delivery.pk])
    assert client.post(retry).status_code == 404
    # The endpoint filter offers only their brand's endpoints.
    form = client.get(reverse("webhook-delivery-list")).context["filter"].form
    assert list(form.fields["endpoint"].queryset) == [own]
    # A new endpoint must be one of their brands.
    form = client.get(reverse("webhook-create")).context["form"]
    assert list(form.fields["brand"].queryset) == [two_brands["brands"]["LOREM"]]
    refused = client.post(
        reverse("webhook-create"),
        {"name": "x", "url": "https://x.example.test/", "brand": two_brands["brands"]["IPSUM"].pk},
    )
    assert "brand" in refused.context["form"].errors


def test_a_brand_limited_user_sees_and_acts_only_on_their_brand_in_the_api(
    two_brands, lorem_finance, api_client_for
):
    client = api_client_for(lorem_finance)
    own, other = two_brands["endpoints"]["LOREM"], two_brands["endpoints"]["IPSUM"]
    own_delivery, other_delivery = delivery_of(own), delivery_of(other)
    ipsum = two_brands["brands"]["IPSUM"]

    assert [h["id"] for h in client.get(f"{API}/hub").json()["results"]] == [str(own.pk)]
    events = client.get(f"{API}/event").json()["results"]
    assert [e["eventId"] for e in events] == [str(own_delivery.event.event_id)]
    deliveries = client.get(f"{API}/delivery").json()["results"]
    assert [d["id"] for d in deliveries] == [str(own_delivery.pk)]
    assert client.get(f"{API}/hub/{other.pk}").status_code == 404
    assert client.patch(f"{API}/hub/{other.pk}", {"name": "x"}).status_code == 404
    assert client.delete(f"{API}/hub/{other.pk}").status_code == 404
    assert client.post(f"{API}/hub/{other.pk}/rotateSecret").status_code == 404
    assert client.post(f"{API}/hub/{other.pk}/test").status_code == 404
    assert client.get(f"{API}/event/{other_delivery.event.pk}").status_code == 404
    assert client.get(f"{API}/delivery/{other_delivery.pk}").status_code == 404
    assert client.post(f"{API}/delivery/{other_delivery.pk}/retry").status_code == 404

    other_brand = client.post(
        f"{API}/hub",
        {"name": "x", "callback": "https://x.example.test/", "brand": {"id": ipsum.pk}},
    )
    assert other_brand.status_code == 400
    assert other_brand.json()["fieldErrors"] == {"brand": [f"no brand with id {ipsum.pk}"]}
    no_brand = client.post(f"{API}/hub", {"name": "x", "callback": "https://x.example.test/"})
    assert no_brand.status_code == 400 and "brand" in no_brand.json()["fieldErrors"]
    assert WebhookEndpoint.objects.count() == 2


# --- API --------------------------------------------------------------------------------------


def test_a_hub_is_registered_read_changed_rotated_and_paused_through_the_api(
    api_client_for, finance
):
    client = api_client_for(finance)
    created = client.post(
        f"{API}/hub",
        {"name": "ERP", "callback": "https://erp.example.test/hooks",
         "eventTypes": ["example.issued"]},
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["@type"] == "Hub" and body["secret"].startswith("whsec_")
    assert body["brand"] is None and body["isActive"] is True
    assert body["href"].endswith(f"{API}/hub/{body['id']}")
    hub = client.get(body["href"]).json()
    assert "secret" not in hub and hub["eventTypes"] == ["example.issued"]

    changed = client.patch(body["href"], {"eventTypes": [], "name": "ERP 2"}).json()
    assert changed["eventTypes"] == [] and changed["name"] == "ERP 2"
    assert changed["callback"] == "https://erp.example.test/hooks"
    rotated = client.post(f"{body['href']}/rotateSecret").json()
    assert rotated["secret"] != body["secret"] and rotated["secretRotatedAt"]
    assert client.delete(body["href"]).status_code == 204
    assert client.get(body["href"]).json()["isActive"] is False
    types = client.get(f"{API}/eventType").json()
    assert {"name": "webhook.test", "description": types[-1]["description"]} in types


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"callback": "https://x.example.test/"}, "name"),
        ({"name": "x", "callback": "not a url"}, "callback"),
        ({"name": "x", "callback": "ftp://x.example.test/"}, "callback"),
        (
            {"name": "x", "callback": "https://x.example.test/", "eventTypes": ["no.such"]},
            "eventTypes",
        ),
        (
            {"name": "x", "callback": "https://x.example.test/", "eventTypes": "example.issued"},
            "eventTypes",
        ),
        ({"name": "x", "callback": "https://x.example.test/", "brand": {"id": "abc"}}, "brand"),
        ({"name": "x", "callback": "https://x.example.test/", "brand": "7"}, "brand"),
        ({"name": "x", "callback": "https://x.example.test/", "isActive": "perhaps"}, "isActive"),
    ],
)
def test_bad_hub_input_is_a_400_with_field_errors(api_client_for, admin_user, body, field):
    response = api_client_for(admin_user).post(f"{API}/hub", body)
    assert response.status_code == 400
    assert field in response.json()["fieldErrors"], response.json()
    assert not WebhookEndpoint.objects.exists()


def test_readers_cannot_change_hubs_or_retry(two_brands, api_client_for, operator, auditor):
    hub = two_brands["endpoints"]["LOREM"]
    delivery = delivery_of(hub)
    for user in (operator, auditor):
        client = api_client_for(user)
        assert client.get(f"{API}/hub/{hub.pk}").status_code == 200
        new = {"name": "x", "callback": "https://x.example.test/"}
        assert client.post(f"{API}/hub", new).status_code == 403
        assert client.patch(f"{API}/hub/{hub.pk}", {"name": "y"}).status_code == 403
        assert client.post(f"{API}/hub/{hub.pk}/rotateSecret").status_code == 403
        assert client.post(f"{API}/delivery/{delivery.pk}/retry").status_code == 403


def test_deliveries_and_events_are_readable_and_filterable(two_brands, api_client_for, auditor):
    client = api_client_for(auditor)
    lorem = two_brands["endpoints"]["LOREM"]
    deliveries = client.get(f"{API}/delivery", {"hub": lorem.pk, "state": "delivered"}).json()
    assert deliveries["count"] == 1
    delivery = deliveries["results"][0]
    assert delivery["eventType"] == "example.issued"
    assert delivery["attemptLog"][0]["statusCode"] == 200
    assert delivery["hub"]["@referredType"] == "Hub"
    event = client.get(delivery["event"]["href"]).json()
    assert event["event"] == {"n": "LOREM"} and event["brand"]["code"] == "LOREM"
    assert client.get(f"{API}/event", {"eventType": "nothing.here"}).json()["count"] == 0
    bad = client.get(f"{API}/delivery", {"createdFrom": "yesterday"})
    assert bad.status_code == 400 and "createdFrom" in bad.json()["fieldErrors"]
    assert OutboxEvent.objects.count() == 2


def test_retry_and_test_through_the_api(
    receiver, api_client_for, finance, django_capture_on_commit_callbacks, settings
):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    receiver.status = 410
    hub = outbox.webhook_endpoint_save(data={"name": "ERP", "url": receiver.url})
    with django_capture_on_commit_callbacks(execute=True):
        publish(event_type="example.issued", payload={})
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.FAILED
    client = api_client_for(finance)
    receiver.status = 200
    with django_capture_on_commit_callbacks(execute=True):
        retried = client.post(f"{API}/delivery/{delivery.pk}/retry")
    assert retried.status_code == 202
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
    again = client.post(f"{API}/delivery/{delivery.pk}/retry")
    assert again.status_code == 400 and "delivered already" in again.json()["message"]
    with django_capture_on_commit_callbacks(execute=True):
        tested = client.post(f"{API}/hub/{hub.pk}/test")
    assert tested.status_code == 202 and tested.json()["eventType"] == "webhook.test"
    assert receiver.count() == 3
