"""This node's own record: the one entry of the table it alone writes."""

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from computemesh.errors import ConfigError
from computemesh.ids import PeerId
from computemesh.protocol.mesh import SCHEMA_VERSION, HardwareClaim, NodeClaims, ServiceClaim
from computemesh.registry.services import LocalService

log = logging.getLogger(__name__)

TOMBSTONE_MIN_TTL_S = 60.0


@dataclass
class OwnRecord:
    """Mutable local facts from which each new signed version is made."""

    peer_id: PeerId
    ttl: float
    version: str
    owner: str = ""
    role: tuple[str, ...] = ()
    public_address: str = ""
    addresses: tuple[str, ...] = ()
    hardware: HardwareClaim = field(default_factory=HardwareClaim)
    services: dict[str, LocalService] = field(default_factory=dict)
    load: int = 0
    withdrawn: bool = False
    _seq: int = 0

    def next_claims(self, now: float | None = None) -> NodeClaims:
        """A new version with a strictly higher sequence number.

        The sequence follows the wall clock in milliseconds, so a restarted node
        (which remembers nothing) still outranks every record it signed before.
        """
        now = time.time() if now is None else now
        self._seq = max(self._seq + 1, int(now * 1000))
        if self.withdrawn:
            return self._tombstone(now)
        return NodeClaims(
            peer_id=self.peer_id,
            schema_version=SCHEMA_VERSION,
            seq=self._seq,
            issued_at=now,
            ttl=self.ttl,
            addresses=self.addresses,
            public_address=self.public_address,
            role=self.role,
            services=self._service_claims(),
            hardware=self.hardware,
            load=self.load,
            owner=self.owner,
            version=self.version,
        )

    def _service_claims(self) -> tuple[ServiceClaim, ...]:
        """Every service that can be claimed; one whose URL cannot is left out, logged.

        The edges refuse such URLs; this keeps one that got past them (an older saved
        file, a bug) from failing every new version of the record, and so the node.
        """
        claims = []
        for service in self.services.values():
            try:
                claims.append(service.claim())
            except (ConfigError, ValueError) as error:
                log.warning("service %s left out of this node's record: %s", service.name, error)
        return tuple(claims)

    def _tombstone(self, now: float) -> NodeClaims:
        return NodeClaims(
            peer_id=self.peer_id,
            schema_version=SCHEMA_VERSION,
            seq=self._seq,
            issued_at=now,
            ttl=max(self.ttl, TOMBSTONE_MIN_TTL_S),
            deleted=True,
            version=self.version,
        )

    def service_url(self, name: str, fields: Mapping[str, str] | None = None) -> str | None:
        """Base URL of the local upstream behind service ``name`` for a request, or None."""
        found = self.services.get(name)
        if found is None:
            return None
        return found.url_for(fields) if fields else found.url

    def set_health(self, name: str, healthy: bool) -> bool:
        """Record a probe result; True if it changed what we claim."""
        service = self.services.get(name)
        if service is None or service.healthy == healthy:
            return False
        self.services[name] = replace(service, healthy=healthy)
        return True
