"""API authentication: DRF's token scheme, refusing a key that no token can have."""

import re

from rest_framework import authentication, exceptions

TOKEN_KEY = re.compile(r"[0-9a-f]{40}")


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``. A key that is not 40 hexadecimal characters is refused
    before the token lookup: one holding a NUL character reached PostgreSQL, which refuses it
    with an error (a 500 for a request that needs no login to send)."""

    def authenticate_credentials(self, key):
        if not TOKEN_KEY.fullmatch(key):
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)
