"""Wallet login: issue a single-use, expiring message; check its signature; find the user."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from computemesh.gateway.accounts import siwe
from computemesh.gateway.auth.tokens import TokenIssuer
from computemesh.gateway.db import Database, LoginNonce, User
from computemesh.gateway.errors import Unauthorized


@dataclass(frozen=True, slots=True)
class Challenge:
    nonce: str
    message: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    user: User


class LoginService:
    def __init__(self, db: Database, tokens: TokenIssuer, nonce_ttl: timedelta) -> None:
        self._db = db
        self._tokens = tokens
        self._nonce_ttl = nonce_ttl

    async def challenge(self, address: str, chain_id: int, domain: str, uri: str) -> Challenge:
        """A fresh message for ``address`` (already checksummed) to sign."""
        now = datetime.now(UTC).replace(microsecond=0)
        fields = siwe.MessageFields(
            domain=domain,
            uri=uri,
            address=address,
            chain_id=chain_id,
            nonce=siwe.new_nonce(),
            issued_at=now,
            expires_at=now + self._nonce_ttl,
        )
        text = siwe.message(fields)
        await self._db.nonces.add(
            LoginNonce(fields.nonce, address, text, chain_id, fields.expires_at)
        )
        return Challenge(nonce=fields.nonce, message=text, expires_at=fields.expires_at)

    async def connect(self, address: str, signature: str, chain_id: int) -> Session:
        """A JWT for the wallet that signed one of its outstanding messages; each works once."""
        for issued in await self._db.nonces.outstanding(address):
            if issued.chain_id != chain_id or siwe.signer(issued.message, signature) != address:
                continue
            # Deleting is the single-use check: of two racing replays only one deletes it.
            if not await self._db.nonces.consume(issued.nonce):
                break
            user = await self._db.users.get_or_create(address)
            return Session(token=self._tokens.issue(user.id, user.address), user=user)
        raise Unauthorized("signature does not match an outstanding login message for this address")

    async def profile(self, user_id: str) -> User:
        user = await self._db.users.get(user_id)
        if user is None:
            raise Unauthorized("user no longer exists")
        return user
