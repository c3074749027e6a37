"""Join tokens: one copy-pasteable string with a network secret and bootstrap addresses.

Format: ``cm1.`` followed by unpadded URL-safe base64 of JSON
``{"secret": <64 hex chars>, "bootstraps": [<multiaddr>, ...]}``.
"""

import base64
import binascii
import json
import secrets
from dataclasses import dataclass

from computemesh.errors import TokenError

PREFIX = "cm1."
SECRET_BYTES = 32


@dataclass(frozen=True)
class JoinToken:
    secret: bytes
    bootstraps: tuple[str, ...] = ()

    def encode(self) -> str:
        body = json.dumps({"secret": self.secret.hex(), "bootstraps": list(self.bootstraps)})
        return PREFIX + base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def new_token(bootstraps: list[str]) -> JoinToken:
    return JoinToken(secrets.token_bytes(SECRET_BYTES), tuple(bootstraps))


def decode(text: str) -> JoinToken:
    text = text.strip()
    if not text.startswith(PREFIX):
        raise TokenError(f"a join token starts with {PREFIX!r}; run `computemesh token new`")
    body = text[len(PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        secret = bytes.fromhex(data["secret"])
        bootstraps = tuple(str(addr) for addr in data.get("bootstraps", []))
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise TokenError(f"the join token is damaged: {error}") from error
    if len(secret) < 16:
        raise TokenError("the join token's secret is too short")
    return JoinToken(secret, bootstraps)
