"""What the gateway checks and says before it serves: its dependencies, and what is open."""

from computemesh.config import GatewaySettings
from computemesh.gateway.db import Database
from computemesh.gateway.db.datadir import make_private_dir
from computemesh.gateway.ratelimit.redis import RedisRateLimiter


def startup_warnings(settings: GatewaySettings) -> list[str]:
    """What an operator should know is open. (An open mesh is the node's to warn about.)"""
    warnings = []
    if not settings.legacy_requires_key:
        warnings.append(
            "the legacy /v1/* routes serve anyone without an API key, a bearer that is "
            "no key of this gateway being anonymous there "
            "(set COMPUTEMESH_GATEWAY_LEGACY_REQUIRES_KEY=true to require one)"
        )
    if settings.accept_legacy_login_message:
        warnings.append(
            "logins signing OCF's fixed 'Welcome to OCF!' message are accepted: such a "
            "signature can be replayed forever (each use is logged; turn "
            "COMPUTEMESH_GATEWAY_ACCEPT_LEGACY_LOGIN_MESSAGE off once frontends use the nonce)"
        )
    if "*" in settings.cors_origins:
        warnings.append(
            "CORS allows every origin: any web page can call this gateway from a browser "
            "(list the allowed ones in COMPUTEMESH_GATEWAY_CORS_ORIGINS)"
        )
    return warnings


async def preflight(settings: GatewaySettings) -> None:
    """Check what the gateway needs before it serves; GatewayError, in one line, if not.

    The lifespan does the same again; doing it first lets the CLI say what is wrong
    instead of the server's failed-startup traceback.
    """
    if settings.database_in_data_dir:
        make_private_dir(settings.data_dir)
    db = Database(settings.database_url)
    try:
        await db.prepare()
    finally:
        await db.close()
    if settings.redis_url is not None:
        limiter = RedisRateLimiter(settings.redis_url)
        try:
            await limiter.ping()
        finally:
            await limiter.aclose()
