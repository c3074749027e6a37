"""Wallet login: nonce message, signature → JWT, profile."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

from computemesh.gateway.accounts import siwe
from computemesh.gateway.api.deps import IpLimited, StateDep, UserIdDep, admit_login_message
from computemesh.gateway.api.schemas import (
    ADDRESS,
    MAX_CHAIN_ID,
    ConnectOut,
    ConnectRequest,
    NonceOut,
    UserOut,
)

router = APIRouter(tags=["auth"])


@router.get("/api/auth/nonce")
async def nonce(
    request: Request,
    state: StateDep,
    _: IpLimited,
    address: Annotated[str, Query(pattern=ADDRESS)],
    chain_id: Annotated[int, Query(ge=1, le=MAX_CHAIN_ID)] = 1,
) -> NonceOut:
    """A single-use EIP-4361 message to sign with ``personal_sign``; valid for a few minutes."""
    checksummed = _checksum(address)
    await admit_login_message(state, request, checksummed)
    uri = str(request.base_url).rstrip("/")
    challenge = await state.login.challenge(checksummed, chain_id, request.url.netloc, uri)
    return NonceOut(
        address=checksummed,
        chain_id=chain_id,
        nonce=challenge.nonce,
        message=challenge.message,
        expires_at=challenge.expires_at,
    )


@router.post("/api/auth/connect")
async def connect(body: ConnectRequest, state: StateDep, _: IpLimited) -> ConnectOut:
    session = await state.login.connect(_checksum(body.address), body.signature, body.chain_id)
    user = session.user
    return ConnectOut(
        token=session.token,
        user=UserOut(id=user.id, address=user.address, created_at=user.created_at),
    )


@router.get("/api/user/profile")
async def profile(user_id: UserIdDep, state: StateDep, _: IpLimited) -> UserOut:
    user = await state.login.profile(user_id)
    return UserOut(id=user.id, address=user.address, created_at=user.created_at)


def _checksum(address: str) -> str:
    checksummed = siwe.checksum(address)
    if checksummed is None:
        # Bad input, not bad credentials: the OCF proxy API's validation status and wording.
        raise HTTPException(422, "invalid request: address: not an Ethereum address")
    return checksummed
