"""API keys: ``sk_rc_`` + 32 random bytes, stored as SHA-256, found in one index probe.

OCF hashed keys with salted bcrypt and then looked them up by that hash, which can
never match. A key here has 256 random bits, so an unsalted SHA-256 is safe to
index: there is no dictionary to try against it, and lookup is a primary-key probe.
"""

import hashlib
import hmac
import secrets

PREFIX = "sk_rc_"
RANDOM_BYTES = 32


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(RANDOM_BYTES)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(value: str) -> bool:
    return value.startswith(PREFIX) and len(value) > len(PREFIX) + 16


def matches(key: str, stored_hash: str) -> bool:
    """Constant-time check, so a found row's hash is not compared byte by byte in the clear."""
    return hmac.compare_digest(key_hash(key), stored_hash)
