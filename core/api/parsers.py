"""Request parsers every API shares: a bad body is a 400 with its reason, never a 500."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


def _has_nul(data) -> bool:
    """Tell whether any key or string of parsed JSON holds a NUL character (walked, not
    recursed: the document may be as deep as the parser allowed)."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


class NestedJSONParser(parsers.JSONParser):
    """DRF's JSON parser; a document nested past Python's recursion limit (RecursionError, a
    500) is a parse error. For a body whose records are checked one by one (a usage batch,
    where a record holding a NUL is rejected and kept with its reason, R16)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - the document is nested too deeply") from error


class JSONParser(NestedJSONParser):
    """The API's JSON parser: also refuses a NUL character in any key or string, which
    PostgreSQL text cannot store and which reached it from fields that are not plain
    CharFields (those refuse it themselves)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if _has_nul(data):
            raise ParseError("JSON parse error - text may not contain NUL (\\u0000) characters")
        return data
