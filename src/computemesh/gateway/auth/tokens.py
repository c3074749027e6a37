"""JWT issue and verify (HS256, PyJWT) with an expiry that is actually set."""

from datetime import UTC, datetime, timedelta

import jwt

from computemesh.gateway.errors import Unauthorized

ALGORITHM = "HS256"
ISSUER = "computemesh-gateway"


class TokenIssuer:
    def __init__(self, secret: str, lifetime: timedelta) -> None:
        self._secret = secret
        self._lifetime = lifetime

    def issue(self, user_id: str, address: str, now: datetime | None = None) -> str:
        issued = now or datetime.now(UTC)
        claims = {
            "sub": user_id,
            "address": address,
            "iss": ISSUER,
            "iat": issued,
            "exp": issued + self._lifetime,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> str:
        """The user id in a valid, unexpired token of ours; Unauthorized otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except jwt.InvalidTokenError:
            raise Unauthorized("invalid token") from None
        subject = claims["sub"]
        if not isinstance(subject, str):
            raise Unauthorized("invalid token")
        return subject
