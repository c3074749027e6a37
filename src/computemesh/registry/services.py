"""Services this node offers: parsed from config, edited by operators, probed for health."""

import logging
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import httpx

from computemesh.errors import ConfigError
from computemesh.protocol.mesh import ServiceClaim

log = logging.getLogger(__name__)
PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class LocalService:
    name: str
    url: str
    identity_group: tuple[str, ...] = ()
    healthy: bool = True

    def claim(self) -> ServiceClaim:
        parts = urlsplit(self.url)
        return ServiceClaim(
            name=self.name,
            host=parts.hostname or "",
            port=parts.port or (443 if parts.scheme == "https" else 80),
            identity_group=self.identity_group,
            status="online" if self.healthy else "unhealthy",
        )


def parse_services(specs: list[str], groups: list[str]) -> dict[str, LocalService]:
    """``NAME=URL`` specs plus ``NAME:KEY=VALUE`` identity groups → services by name."""
    services: dict[str, LocalService] = {}
    for spec in specs:
        name, sep, url = spec.partition("=")
        if not sep or not name or not _is_http_url(url):
            raise ConfigError(f"--service must look like NAME=http://host:port, got {spec!r}")
        services[name] = LocalService(name=name, url=url.rstrip("/"))
    for spec in groups:
        name, sep, group = spec.partition(":")
        key, eq, value = group.partition("=")
        if not sep or not eq or not key or not value:
            raise ConfigError(f"--identity-group must look like NAME:KEY=VALUE, got {spec!r}")
        if name not in services:
            raise ConfigError(f"--identity-group {spec!r} names no --service {name!r}")
        current = services[name]
        services[name] = replace(current, identity_group=(*current.identity_group, group))
    return services


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


async def probe(client: httpx.AsyncClient, service: LocalService) -> bool:
    """Healthy when ``/health`` (or, lacking it, the root) answers below 500."""
    for path in ("/health", "/"):
        try:
            response = await client.get(service.url + path, timeout=PROBE_TIMEOUT_S)
        except httpx.HTTPError as error:
            log.debug("service %s probe failed: %s", service.name, error)
            return False
        if response.status_code != 404:
            return response.status_code < 500
    return True
