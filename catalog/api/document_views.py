"""REST API of catalogue documents: export the catalogue, import a document (dry run or not).

GET  /api/v1/catalog/export?plan=CODE&format=yaml|json
POST /api/v1/catalog/import?dryRun=true   (a YAML or JSON body, or a multipart "file")
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, status
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.document import (
    EXPORT_PERMISSION,
    IMPORT_PERMISSION,
    MAX_DOCUMENT_BYTES,
    MEDIA_TYPES,
    CatalogDocumentError,
    catalog_export,
    catalog_import,
    document_dump,
    document_load,
    format_of,
)
from catalog.models import Plan
from catalog.selectors import require_every_brand
from core.api.errors import error_body

DOCUMENT_SCHEMA = {
    "type": "object",
    "description": "A catalogue document (docs/catalog-format.md).",
    "required": ["format", "version"],
    "properties": {
        "format": {"type": "string", "enum": ["mvno-billing/catalog"]},
        "version": {"type": "integer", "enum": [1]},
    },
    "additionalProperties": True,
}


class DocumentYAMLRenderer(renderers.BaseRenderer):
    """Answer as YAML (``?format=yaml`` or ``Accept: application/yaml``)."""

    media_type = MEDIA_TYPES["yaml"]
    format = "yaml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return b"" if data is None else document_dump(data, "yaml").encode("utf-8")


class DocumentJSONRenderer(renderers.BaseRenderer):
    """Answer as indented JSON, byte for byte what ``catalog_export --format json`` writes."""

    media_type = MEDIA_TYPES["json"]
    format = "json"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return b"" if data is None else document_dump(data, "json").encode("utf-8")


class DocumentText:
    """The raw text of a posted document and the format its media type names."""

    def __init__(self, text: bytes, format: str | None):
        self.text, self.format = text, format


class DocumentTextParser(BaseParser):
    """Take any non-multipart body as the document's text, unparsed (decimals stay exact)."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        text = stream.read(MAX_DOCUMENT_BYTES + 1) if stream is not None else b""
        return DocumentText(text, format_of(content_type=media_type))


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _invalid(error: CatalogDocumentError) -> Response:
    path, message = error.errors[0]
    more = len(error.errors) - 1
    summary = f"{path}: {message}" if path else message
    if more:
        summary += f" (and {more} more)"
    body = error_body(400, "INVALID", summary, error.as_dict())
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


class CatalogExportApi(APIView):
    """Export the catalogue, or some plans with what they need, as a document."""

    required_permission = EXPORT_PERMISSION
    renderer_classes = [DocumentJSONRenderer, DocumentYAMLRenderer]

    @extend_schema(
        operation_id="catalog_export",
        summary="Export the catalogue as a document",
        parameters=[
            OpenApiParameter(
                "plan",
                OpenApiTypes.STR,
                many=True,
                description="export only this plan (repeatable) and what it needs",
            ),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "yaml"]),
        ],
        responses={
            (200, "application/json"): DOCUMENT_SCHEMA,
            (200, "application/yaml"): OpenApiTypes.STR,
        },
    )
    def get(self, request):
        require_every_brand(request.user, "the catalogue document")
        plans = request.query_params.getlist("plan") or None
        try:
            document = catalog_export(plans=plans)
        except Plan.DoesNotExist as error:
            raise NotFound(str(error)) from error
        response = Response(document)
        extension = request.accepted_renderer.format
        name = f"catalog-{'-'.join(plans)}" if plans else "catalog"
        response["Content-Disposition"] = f'inline; filename="{name}.{extension}"'
        return response


class CatalogImportApi(APIView):
    """Import a catalogue document: all or nothing, errors keyed by their path."""

    required_permission = IMPORT_PERMISSION
    parser_classes = [MultiPartParser, DocumentTextParser]
    # ``?format=yaml`` picks the answer's format (the body's comes from its media type).
    renderer_classes = [renderers.JSONRenderer, DocumentYAMLRenderer]

    @extend_schema(
        operation_id="catalog_import",
        summary="Import a catalogue document",
        description=(
            "The body is a YAML or JSON catalogue document (or a multipart form with a `file`). "
            "Objects are matched by code: created when missing, updated when different (drafts "
            "only), left alone when identical, never deleted. Any error imports nothing; the "
            "400 answer lists every error by its path, e.g. `rate_cards[1].rows[5].price`. "
            "With `dryRun=true` the answer says what an import would do and nothing is saved."
        ),
        parameters=[OpenApiParameter("dryRun", OpenApiTypes.BOOL, default=False)],
        request={
            "application/json": DOCUMENT_SCHEMA,
            "application/yaml": OpenApiTypes.STR,
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            },
        },
        responses={
            200: OpenApiResponse(description="what was (or, in a dry run, would be) done"),
            400: OpenApiResponse(description="the document's errors, in fieldErrors by path"),
        },
    )
    def post(self, request):
        require_every_brand(request.user, "the catalogue document")
        data = request.data
        dry_run = _flag(request.query_params.get("dryRun"))
        if isinstance(data, DocumentText):
            text, format = data.text, data.format
        else:
            dry_run = dry_run or _flag(data.get("dryRun"))
            upload = request.FILES.get("file")
            if upload is None:
                raise ParseError("send the document as the body or as a multipart 'file'")
            if upload.size > MAX_DOCUMENT_BYTES:
                raise ParseError(f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
            text, format = upload.read(), format_of(upload.name, upload.content_type)
        try:
            document = document_load(text, format=format)
            summary = catalog_import(
                document=document,
                acting_user=request.user,
                dry_run=dry_run,
            )
        except CatalogDocumentError as error:
            return _invalid(error)
        return Response(summary.as_dict())
