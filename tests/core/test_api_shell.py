"""The API shell: token auth, error bodies, schema, the Idempotency-Key mechanism."""

import pytest
from django.db import connection, models
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from core.idempotency import idempotent
from core.models import IdempotencyKey

pytestmark = pytest.mark.django_db


def test_schema_is_served_to_a_token_client(api_client_for, auditor):
    response = api_client_for(auditor).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_the_schema_documents_every_operations_error_answers(api_client_for, auditor):
    schema = api_client_for(auditor).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    error = schema["components"]["schemas"]["Error"]
    assert {"@type", "status", "code", "message"} <= set(error["required"])
    ref = {"$ref": "#/components/schemas/Error"}
    paths = schema["paths"]
    create = paths["/api/v1/catalog/productOfferingPrice/"]["post"]["responses"]
    assert create["400"]["content"]["application/json"]["schema"] == ref
    assert create["409"]["content"]["application/json"]["schema"] == ref
    detail = paths["/api/v1/charging/usage/{id}/"]["get"]["responses"]
    assert set(detail) >= {"200", "401", "403", "404"} and "400" not in detail
    listed = paths["/api/v1/charging/usage/"]["get"]["responses"]
    assert listed["400"]["content"]["application/json"]["schema"] == ref  # bad filters
    download = paths["/api/v1/charging/usageFile/{id}/content/"]["get"]["responses"]["200"]
    assert set(download["content"]) == {"text/csv", "application/gzip", "application/json"}
    for operations in paths.values():
        for method, operation in operations.items():
            if method in ("get", "post", "put", "patch", "delete"):
                assert "401" in operation["responses"], operation["operationId"]


def test_docs_page_is_served_to_a_logged_in_user(console_client_for, auditor):
    assert console_client_for(auditor).get("/api/docs/").status_code == 200
    assert console_client_for(auditor).get("/api/redoc/").status_code == 200


def test_bad_token_is_401_with_error_body(client):
    response = client.get("/api/schema/?format=json", HTTP_AUTHORIZATION="Token nope")
    assert response.status_code == 401
    body = response.json()
    assert body["@type"] == "Error"
    assert body["status"] == 401
    assert body["code"] == "AUTHENTICATION_FAILED"


@pytest.mark.parametrize("key", ["a\x00b", "0" * 39, "Z" * 40, "0" * 41])
def test_a_token_no_key_can_be_is_401_not_a_database_error(client, key):
    response = client.get("/api/v1/catalog/plan/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid token."


def test_a_body_django_refuses_before_any_view_is_a_json_400(api_client_for, operator):
    too_many = "&".join(f"f{i}=1" for i in range(1_100))  # DATA_UPLOAD_MAX_NUMBER_FIELDS
    response = api_client_for(operator).post(
        "/api/v1/charging/usageFile/", too_many, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    body = response.json()  # the API's error body, not Django's HTML page
    assert (body["@type"], body["code"]) == ("Error", "BAD_REQUEST")
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in body["message"]


def test_unknown_api_path_is_a_json_404(api_client_for, auditor):
    response = api_client_for(auditor).get("/api/v1/no-such-resource/")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


class TopUpSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    items = serializers.ListField(
        child=serializers.DictField(child=serializers.IntegerField()), required=False
    )


class CountingTopUp(APIView):
    """A stand-in money-moving endpoint that counts how often its body really ran."""

    calls = 0
    permission_classes: list = []

    @idempotent
    def post(self, request):
        data = TopUpSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        type(self).calls += 1
        return Response(
            {"applied": str(data.validated_data["amount"]), "n": type(self).calls}, status=201
        )


def _post(user, body, key=None):
    factory = APIRequestFactory()
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    request = factory.post("/api/v1/test/topup", body, format="json", **headers)
    force_authenticate(request, user=user)
    return CountingTopUp.as_view()(request)


def test_same_key_and_body_replays_the_first_response(operator):
    CountingTopUp.calls = 0
    first = _post(operator, {"amount": "10.00"}, key="k-1")
    second = _post(operator, {"amount": "10.00"}, key="k-1")
    assert first.status_code == second.status_code == 201
    assert second.data == first.data
    assert second["Idempotent-Replayed"] == "true"
    assert CountingTopUp.calls == 1
    assert IdempotencyKey.objects.filter(key="k-1").count() == 1


def test_same_key_with_another_body_is_a_409(operator):
    _post(operator, {"amount": "10.00"}, key="k-2")
    response = _post(operator, {"amount": "20.00"}, key="k-2")
    assert response.status_code == 409
    assert response.data["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_keys_are_scoped_per_user(operator, finance):
    CountingTopUp.calls = 0
    _post(operator, {"amount": "10.00"}, key="shared")
    _post(finance, {"amount": "10.00"}, key="shared")
    assert CountingTopUp.calls == 2


def test_without_a_key_every_post_runs(operator):
    CountingTopUp.calls = 0
    _post(operator, {"amount": "10.00"})
    _post(operator, {"amount": "10.00"})
    assert CountingTopUp.calls == 2


def test_a_refused_request_stores_nothing_and_can_be_corrected(operator):
    bad = _post(operator, {"amount": "-1"}, key="k-3")
    assert bad.status_code == 400
    assert bad.data["fieldErrors"] == {
        "amount": ["Ensure this value is greater than or equal to 0."]
    }
    good = _post(operator, {"amount": "1.00"}, key="k-3")
    assert good.status_code == 201


def test_nested_field_errors_are_flattened_with_their_path(operator):
    response = _post(operator, {"amount": "1", "items": [{"a": 1}, {"a": "x"}]})
    assert response.status_code == 400
    assert list(response.data["fieldErrors"]) == ["items[1].a"]
    assert response.data["message"].startswith("items[1].a: ")


def test_too_long_key_is_a_400(operator):
    response = _post(operator, {"amount": "1.00"}, key="x" * 300)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.data["fieldErrors"]


def test_a_key_with_control_characters_is_a_400_not_a_database_error(operator):
    response = _post(operator, {"amount": "1.00"}, key="k\x00-4")
    assert response.status_code == 400
    assert "printable" in response.data["fieldErrors"]["Idempotency-Key"][0]
    assert not IdempotencyKey.objects.exists()


def _post_raw(user, content: bytes):
    request = APIRequestFactory().post(
        "/api/v1/test/topup", content, content_type="application/json"
    )
    force_authenticate(request, user=user)
    return CountingTopUp.as_view()(request)


def test_json_nested_past_the_recursion_limit_is_a_400(operator):
    CountingTopUp.calls = 0
    response = _post_raw(operator, b"[" * 100_000 + b"]" * 100_000)
    assert response.status_code == 400
    assert response.data["code"] == "PARSE_ERROR"
    assert "nested too deeply" in response.data["message"]
    assert CountingTopUp.calls == 0


@pytest.mark.parametrize(
    "content",
    [b'{"amount": "1.00\\u0000"}', b'{"amount": "1", "items": [{"a\\u0000": 1}]}'],
)
def test_a_nul_character_anywhere_in_json_is_a_400(operator, content):
    response = _post_raw(operator, content)
    assert response.status_code == 400
    assert "NUL" in response.data["message"]


def test_idempotency_key_uniqueness_is_a_database_constraint(operator):
    constraints = connection.introspection.get_constraints(
        connection.cursor(), IdempotencyKey._meta.db_table
    )
    unique = [
        c for c in constraints.values() if c["unique"] and set(c["columns"]) == {"user_id", "key"}
    ]
    assert unique
    assert isinstance(IdempotencyKey._meta.get_field("key"), models.CharField)
