"""FastAPI dependencies: the gateway state, the caller (JWT or API key) and rate limits."""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from computemesh import request_id as request_ids
from computemesh.gateway.api.state import GatewayState
from computemesh.gateway.auth import api_keys
from computemesh.gateway.auth.principal import Principal
from computemesh.gateway.errors import RateLimited, Unauthorized
from computemesh.gateway.ratelimit.limits import Limit


async def get_state(request: Request) -> GatewayState:
    # async on purpose: FastAPI runs plain-def dependencies in a worker thread.
    state: GatewayState = request.app.state.gateway
    return state


StateDep = Annotated[GatewayState, Depends(get_state)]


def bearer(request: Request) -> str:
    credentials = bearer_or_none(request)
    if credentials is None:
        raise Unauthorized("missing bearer credentials")
    return credentials


def bearer_or_none(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


async def jwt_user(request: Request, state: StateDep) -> str:
    """The user id of a login token (API keys are refused here: they are for inference)."""
    token = bearer(request)
    if api_keys.looks_like_key(token):
        raise Unauthorized("this endpoint needs a login token, not an API key")
    return state.tokens.verify(token)


async def key_principal(request: Request, state: StateDep) -> Principal:
    return await state.keys.resolve(bearer(request))


async def legacy_principal(request: Request, state: StateDep) -> Principal | None:
    """The legacy /v1 routes are open as in the OCF proxy API, unless configured to need a key.

    Open, whatever the ``openai`` SDK sends as its (mandatory) API key is no
    credential: a bearer that is not a key of this gateway is anonymous. A key of
    this gateway is still metered to its owner, and a deactivated one still refused.
    """
    if state.settings.legacy_requires_key:
        return await state.keys.resolve(bearer(request))
    credentials = bearer_or_none(request)
    return None if credentials is None else await state.keys.find(credentials)


UserIdDep = Annotated[str, Depends(jwt_user)]
KeyPrincipalDep = Annotated[Principal, Depends(key_principal)]
LegacyPrincipalDep = Annotated[Principal | None, Depends(legacy_principal)]


@dataclass(frozen=True, slots=True)
class Admission:
    """A request let through the limiter: its id, what it counts against, the headers to send."""

    request_id: str
    limits: list[Limit]
    headers: dict[str, str]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def admit(state: GatewayState, request: Request, principal: Principal | None) -> Admission:
    settings = state.settings
    limits = [Limit(f"ip:{client_ip(request)}", settings.ip_rpm, settings.ip_tpm)]
    if principal is not None and principal.api_key_id is not None:
        limits.append(Limit(f"key:{principal.api_key_id}", settings.key_rpm, settings.key_tpm))
    return await _acquire(state, limits, "rate limit exceeded")


async def admit_login_message(state: GatewayState, request: Request, address: str) -> None:
    """Bound the login messages issued per client and per address (``address`` checksummed).

    Every unexpired message stays valid, so these limits are what bound the messages a
    signature is checked against; per address is the looser one, so a single client
    cannot spend a wallet's whole budget.
    """
    settings = state.settings
    limits = [
        Limit(f"nonce-ip:{client_ip(request)}", settings.nonce_ip_rpm, 0),
        Limit(f"nonce-address:{address}", settings.nonce_address_rpm, 0),
    ]
    await _acquire(state, limits, "too many login messages asked for; retry later")


async def _acquire(state: GatewayState, limits: list[Limit], refusal: str) -> Admission:
    limits = [limit for limit in limits if limit.active]
    # The id the request is known by at every hop, unless a caller chose it: it keys the
    # usage record, which a caller must not be able to collide with another's.
    request_id = request_ids.own_id() or uuid.uuid4().hex
    if not limits:
        return Admission(request_id, [], {})
    decision = await state.limiter.acquire(limits, request_id)
    if not decision.allowed:
        raise RateLimited(refusal, decision.retry_after, decision.headers())
    return Admission(request_id, limits, decision.headers())


async def ip_limited(request: Request, state: StateDep) -> Admission:
    return await admit(state, request, None)


async def key_limited(
    request: Request, state: StateDep, principal: KeyPrincipalDep
) -> tuple[Principal, Admission]:
    return principal, await admit(state, request, principal)


async def legacy_limited(
    request: Request, state: StateDep, principal: LegacyPrincipalDep
) -> tuple[Principal | None, Admission]:
    return principal, await admit(state, request, principal)


IpLimited = Annotated[Admission, Depends(ip_limited)]
KeyLimited = Annotated[tuple[Principal, Admission], Depends(key_limited)]
LegacyLimited = Annotated[tuple[Principal | None, Admission], Depends(legacy_limited)]
