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


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing what no request can mean and the database cannot store.

    A document nested past Python's recursion limit raised RecursionError (a 500); a NUL
    character in any string cannot be stored in PostgreSQL text and reached it from fields
    that are not plain CharFields (which refuse it themselves).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - the document is nested too deeply") from error
        if _has_nul(data):
            raise ParseError("JSON parse error - text may not contain NUL (\\u0000) characters")
        return data
