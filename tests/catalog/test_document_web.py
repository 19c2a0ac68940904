"""Catalogue documents on the console and the API: export for readers, import for operators."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.document import catalog_export, catalog_import, document_dump, document_load
from catalog.models import Plan, RateCard, RateRow

pytestmark = pytest.mark.django_db

GOLDEN_FILE = Path(__file__).resolve().parents[2] / "catalog" / "examples" / "golden-october.yaml"
EXPORT_URL, IMPORT_URL = "/catalog/export/", "/catalog/import/"
API_EXPORT_URL, API_IMPORT_URL = "/api/v1/catalog/export", "/api/v1/catalog/import"


def golden_text() -> str:
    return GOLDEN_FILE.read_text(encoding="utf-8")


def bad_price_text() -> str:
    document = document_load(golden_text())
    document["rate_cards"][1]["rows"][5]["price"] = "-1"
    return document_dump(document)


# --- console --------------------------------------------------------------------------------


def test_console_export_downloads_the_catalogue_as_yaml(console_client_for, operator):
    catalog_import(document=document_load(golden_text()))

    response = console_client_for(operator).get(EXPORT_URL, {"format": "yaml", "download": "1"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="catalog.yaml"'
    assert document_load(response.content) == catalog_export()


def test_console_export_shows_one_plan_as_json(console_client_for, finance):
    catalog_import(document=document_load(golden_text()))

    response = console_client_for(finance).get(
        EXPORT_URL, {"plan": "SMART-10", "format": "json", "show": "1"}
    )

    assert response.status_code == 200
    assert response.context["filename"] == "catalog-SMART-10.json"
    assert document_load(response.context["preview"]) == catalog_export(plans=["SMART-10"])
    assert b"Import a document" not in response.content


def test_console_import_is_for_operators(console_client_for, operator, finance, auditor):
    assert console_client_for(operator).get(IMPORT_URL).status_code == 200
    assert console_client_for(finance).get(IMPORT_URL).status_code == 403
    assert console_client_for(auditor).post(IMPORT_URL, {"text": golden_text()}).status_code == 403
    assert Plan.objects.count() == 0


def test_console_import_previews_a_file_and_saves_nothing(console_client_for, operator):
    upload = SimpleUploadedFile("golden.yaml", golden_text().encode(), "application/x-yaml")

    response = console_client_for(operator).post(IMPORT_URL, {"file": upload, "action": "preview"})

    assert response.status_code == 200
    assert response.context["summary"].counts()["created"] == 12
    assert response.context["document"] == golden_text()
    assert b"what an import would do" in response.content
    assert Plan.objects.count() == 0


def test_console_import_confirmed_imports_the_previewed_document(console_client_for, operator):
    response = console_client_for(operator).post(
        IMPORT_URL, {"text": golden_text(), "format": "yaml", "action": "import"}
    )

    assert response.status_code == 200
    assert response.context["imported"]
    assert Plan.objects.get(code="SMART-10").versions.get().status == "published"
    history = RateCard.history.filter(code="SMART-10-2026").first()
    assert history.history_user == operator


def test_console_import_shows_errors_by_path_and_saves_nothing(console_client_for, operator):
    response = console_client_for(operator).post(
        IMPORT_URL, {"text": bad_price_text(), "action": "import"}
    )

    assert response.status_code == 200
    assert response.context["errors"] == [("rate_cards[1].rows[5].price", "must be ≥ 0")]
    assert b"rate_cards[1].rows[5].price" in response.content
    assert Plan.objects.count() == RateCard.objects.count() == 0


def test_console_import_needs_a_file_or_a_text(console_client_for, operator):
    response = console_client_for(operator).post(IMPORT_URL, {"action": "preview"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["choose a file or paste a document"]


# --- API ------------------------------------------------------------------------------------


def test_api_export_answers_yaml_or_json(api_client_for, auditor):
    catalog_import(document=document_load(golden_text()))
    client = api_client_for(auditor)

    as_yaml = client.get(API_EXPORT_URL, {"format": "yaml"})
    as_json = client.get(API_EXPORT_URL, {"format": "json", "plan": "SMART-10"})

    assert as_yaml.status_code == as_json.status_code == 200
    assert as_yaml["Content-Type"].startswith("application/yaml")
    assert document_load(as_yaml.content) == catalog_export()
    assert as_json.json() == catalog_export(plans=["SMART-10"])


def test_api_export_of_an_unknown_plan_is_404(api_client_for, operator):
    response = api_client_for(operator).get(API_EXPORT_URL, {"plan": "NOPE", "format": "json"})

    assert response.status_code == 404
    assert response.json()["message"] == "no plan with code 'NOPE'"


def test_api_import_of_a_yaml_body(api_client_for, operator):
    response = api_client_for(operator).post(
        API_IMPORT_URL, golden_text(), content_type="application/yaml"
    )

    assert response.status_code == 200
    assert response.json()["counts"]["created"] == 12
    assert response.json()["dryRun"] is False
    assert Plan.objects.filter(code="SMART-10").exists()


def test_api_import_dry_run_saves_nothing(api_client_for, operator):
    response = api_client_for(operator).post(
        f"{API_IMPORT_URL}?dryRun=true", golden_text(), content_type="text/plain"
    )

    assert response.status_code == 200
    assert response.json()["dryRun"] is True
    assert {"action": "created", "kind": "plan", "name": "SMART-10"} in response.json()["actions"]
    assert Plan.objects.count() == 0


def test_api_import_answers_in_yaml_when_asked(api_client_for, operator):
    response = api_client_for(operator).post(
        f"{API_IMPORT_URL}?dryRun=1&format=yaml", golden_text(), content_type="application/yaml"
    )

    assert response.status_code == 200
    assert document_load(response.content)["counts"]["created"] == 12


def test_api_import_of_a_json_body_keeps_decimal_numbers_exact(api_client_for, operator):
    text = document_dump(document_load(golden_text()), "json").replace('"0.0199"', "0.0199")

    response = api_client_for(operator).post(API_IMPORT_URL, text, content_type="application/json")

    assert response.status_code == 200
    row = RateRow.objects.get(rate_card__code="SMART-10-2026", unit="MB")
    assert row.price == Decimal("0.0199")


def test_api_import_of_an_uploaded_file(api_client_for, operator):
    upload = SimpleUploadedFile("golden.yaml", golden_text().encode(), "application/yaml")

    response = api_client_for(operator).post(API_IMPORT_URL, {"file": upload}, format="multipart")

    assert response.status_code == 200
    assert Plan.objects.filter(code="SMART-10").exists()


def test_api_import_of_a_bad_document_is_400_with_errors_by_path(api_client_for, operator):
    response = api_client_for(operator).post(
        API_IMPORT_URL, bad_price_text(), content_type="application/yaml"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID"
    assert body["fieldErrors"] == {"rate_cards[1].rows[5].price": ["must be ≥ 0"]}
    assert body["message"] == "rate_cards[1].rows[5].price: must be ≥ 0"
    assert Plan.objects.count() == 0


def test_api_import_of_broken_text_is_400(api_client_for, operator):
    response = api_client_for(operator).post(
        API_IMPORT_URL, '{"format": ', content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()["fieldErrors"]) == ["document"]


def test_api_import_is_forbidden_to_finance(api_client_for, finance):
    response = api_client_for(finance).post(
        API_IMPORT_URL, golden_text(), content_type="application/yaml"
    )

    assert response.status_code == 403
    assert response.json()["@type"] == "Error"
    assert Plan.objects.count() == 0
