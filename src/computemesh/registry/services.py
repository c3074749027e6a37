"""Services this node offers: parsed from config, edited by operators, probed for health."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace

import httpx

from computemesh.errors import ConfigError
from computemesh.protocol.mesh import ServiceClaim
from computemesh.registry.service_urls import BadServiceAddress, check_url

log = logging.getLogger(__name__)
PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class LocalService:
    """A local upstream offered to the mesh.

    ``entry_urls`` sends requests that match one identity-group entry (``model=X``) to
    a URL of its own: a local engine runs one server per model, while the mesh sees
    one service ``llm`` with every ``model=`` entry. Anything else goes to ``url``.

    ``alive_if_answers`` judges the upstream by whether it answers at all: some model APIs
    (AICN's, often POST-only) answer 404/405/500 to ``GET /health`` and ``GET /`` while
    serving their one POST route well.
    """

    name: str
    url: str
    identity_group: tuple[str, ...] = ()
    healthy: bool = True
    entry_urls: tuple[tuple[str, str], ...] = ()
    alive_if_answers: bool = False

    def url_for(self, fields: Mapping[str, str]) -> str:
        """The base URL for a request carrying ``fields`` (``{"model": ...}``)."""
        for entry, url in self.entry_urls:
            key, _, value = entry.partition("=")
            if fields.get(key) == value:
                return url
        return self.url

    def claim(self) -> ServiceClaim:
        """What the signed record says of this service (``BadServiceAddress`` for a bad URL)."""
        address = check_url(self.url)
        return ServiceClaim(
            name=self.name,
            host=address.host,
            port=address.port,
            identity_group=self.identity_group,
            status="online" if self.healthy else "unhealthy",
        )


def parse_services(specs: list[str], groups: list[str]) -> dict[str, LocalService]:
    """``NAME=URL`` specs plus ``NAME:KEY=VALUE`` identity groups → services by name."""
    services: dict[str, LocalService] = {}
    for spec in specs:
        name, sep, url = spec.partition("=")
        if not sep or not name:
            raise ConfigError(f"--service must look like NAME=http://host:port, got {spec!r}")
        try:
            check_url(url)
        except BadServiceAddress as error:
            raise ConfigError(f"--service {name}: {error}") from None
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


def with_entries(
    services: dict[str, LocalService], name: str, urls: Mapping[str, str]
) -> dict[str, LocalService]:
    """Add ``entry=url`` pairs (``model=X`` → its server) to service ``name``, made if absent.

    An existing service without identity groups serves every request; giving it entries
    would silently narrow it, so that combination is refused.
    """
    if not urls:
        return services
    entries = tuple(urls.items())
    current = services.get(name)
    if current is None:
        first = entries[0][1]
        added = LocalService(name, first, tuple(urls), entry_urls=entries)
    elif not current.identity_group:
        raise ConfigError(
            f"--service {name} has no --identity-group, so it claims every model; name its "
            f"models (--identity-group {name}:model=ID) to serve local models beside it"
        )
    else:
        groups = (*current.identity_group, *(e for e in urls if e not in current.identity_group))
        added = replace(current, identity_group=groups, entry_urls=current.entry_urls + entries)
    return {**services, name: added}


async def probe(client: httpx.AsyncClient, service: LocalService) -> bool:
    """Healthy when ``/health`` (or, lacking it, the root) answers below 500; with
    ``alive_if_answers``, when it answers anything (refused or silent is down)."""
    for path in ("/health", "/"):
        try:
            response = await client.get(service.url + path, timeout=PROBE_TIMEOUT_S)
        # InvalidURL is no HTTPError: a URL httpx refuses is an unhealthy service too.
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            log.debug("service %s probe failed: %s", service.name, error)
            return False
        if service.alive_if_answers:
            return True
        if response.status_code != 404:
            return response.status_code < 500
    return True
