"""Wallet login: issue a single-use, expiring message; check its signature; find the user."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from computemesh.gateway.accounts import ocf_message, siwe
from computemesh.gateway.auth.tokens import TokenIssuer
from computemesh.gateway.db import Database, LoginNonce, User
from computemesh.gateway.errors import Unauthorized

log = logging.getLogger(__name__)
NO_MATCH = (
    "signature does not match an outstanding login message for this address; "
    "GET /api/auth/nonce?address=<address>&chain_id=<chain_id> for one, and sign its `message`"
)


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
    def __init__(
        self,
        db: Database,
        tokens: TokenIssuer,
        nonce_ttl: timedelta,
        accept_ocf_message: bool = False,
    ) -> None:
        self._db = db
        self._tokens = tokens
        self._nonce_ttl = nonce_ttl
        self._accept_ocf_message = accept_ocf_message

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
            return await self._session(address)
        if ocf_message.signed_by(address, signature, chain_id):
            return await self._ocf_login(address)
        raise Unauthorized(NO_MATCH)

    async def _ocf_login(self, address: str) -> Session:
        """OCF's fixed message: refused, saying what to sign instead, unless migrating."""
        if not self._accept_ocf_message:
            raise Unauthorized(ocf_message.REFUSED)
        log.warning(
            "login of %s with OCF's fixed, replayable message accepted "
            "(accept_legacy_login_message is on)",
            address,
        )
        return await self._session(address)

    async def _session(self, address: str) -> Session:
        user = await self._db.users.get_or_create(address)
        return Session(token=self._tokens.issue(user.id, user.address), user=user)

    async def profile(self, user_id: str) -> User:
        user = await self._db.users.get(user_id)
        if user is None:
            raise Unauthorized("user no longer exists")
        return user
