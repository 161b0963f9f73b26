"""Unguessable one-off tokens for emailed links. Only the SHA-256 of a token is stored."""

import hashlib
import secrets

TOKEN_BYTES = 32  # 256 bits from the operating system's CSPRNG.


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """Return (token for the link, hash to store)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_hash(token)
