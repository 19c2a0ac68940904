"""OpenAPI schema additions every API shares (drf-spectacular postprocessing hook)."""

ERROR_COMPONENT = {
    "type": "object",
    "description": "Every failure's body (core.api.errors), TMF630 style.",
    "properties": {
        "@type": {"type": "string", "enum": ["Error"]},
        "status": {"type": "integer", "description": "the HTTP status"},
        "code": {"type": "string", "description": "e.g. INVALID, NOT_FOUND, PROTECTED"},
        "reason": {"type": "string", "description": "the status in words"},
        "message": {"type": "string", "description": "what went wrong, for a person"},
        "fieldErrors": {
            "type": "object",
            "description": 'messages by field path, e.g. {"bands[0].code": ["…"]}',
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["@type", "status", "code", "reason", "message"],
}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_WHEN = {
    "400": "the request is malformed or refused; fieldErrors says which field and why",
    "401": "no valid token or session",
    "403": "the user's role or brands do not allow it",
    "404": "no such object, or one the user may not see",
    "409": "a conflict: the object is still referenced, or an Idempotency-Key was reused "
    "with another body",
}
_WRITES = {"post", "put", "patch", "delete"}


def document_errors(result, generator, request, public):
    """Give every API operation the error answers it can give, with the Error body."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_COMPONENT
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            if method not in _WRITES | {"get"}:
                continue
            statuses = ["401", "403"]
            queried = any(p.get("in") == "query" for p in operation.get("parameters", ()))
            if method in _WRITES or queried:  # a body, or filters that may be malformed
                statuses.append("400")
            if "{" in path:
                statuses.append("404")
            if method in _WRITES - {"put", "patch"}:
                statuses.append("409")
            responses = operation.setdefault("responses", {})
            for status in statuses:
                answer = responses.setdefault(status, {"description": _WHEN[status]})
                answer.setdefault("content", _ERROR)
    return result
