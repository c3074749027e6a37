"""Where a service may point: the checks every URL, host and port pass at the edge.

A service's address is used long after it was given: in every signed record (its
claim), by the health probe, by every forward. One that only fails there (a port
``abc`` or 99999, a control character, user info) fails in a background task, so it is
refused where it comes in (AICN registrations, ``POST /v1/dnt/_node``, ``--service``,
saved registrations), with a message naming what is wrong.

A service may also never point at this node's own ports (its HTTP port, its libp2p
ports) on any address of this machine: peers reach services, and the node would
forward their requests to itself, where they would reach the full app.
"""

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
import psutil

from computemesh.errors import ConfigError

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_HOST_LENGTH = 253
RESOLVE_TIMEOUT_S = 2.0
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")  # control characters and whitespace
_LISTEN_PORT = re.compile(r"/(?:tcp|udp)/(\d+)")


class BadServiceAddress(ConfigError):
    """A service URL, host or port that cannot be used."""


@dataclass(frozen=True)
class ServiceAddress:
    scheme: str
    host: str
    """An IP (IPv6 without brackets) or a DNS name, lower case."""
    port: int

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{host_in_url(self.host)}:{self.port}"


def check_port(port: object) -> int:
    """A TCP port number, 1 to 65535 (OCF sends it as a string of digits)."""
    if isinstance(port, str) and port.isascii() and port.isdigit():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise BadServiceAddress(f"port must be a TCP port number from 1 to 65535, got {port!r}")
    return port


def check_host(host: str) -> str:
    """An IP address or a DNS name; returned in the form URLs and sockets take apart."""
    if _UNSAFE.search(host):
        raise BadServiceAddress(f"host must not contain spaces or control characters: {host!r}")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    name = bare.rstrip(".").lower()
    if not name or len(name) > MAX_HOST_LENGTH or not all(map(_LABEL.match, name.split("."))):
        raise BadServiceAddress(f"host must be an IP address or a DNS name, got {host!r}")
    return name


def check_url(url: str) -> ServiceAddress:
    """An ``http(s)://host[:port]/path`` URL with no user info; its scheme, host and port."""
    if _UNSAFE.search(url) or not url.isascii():
        raise BadServiceAddress(
            f"the URL must be ASCII, without spaces or control characters: {url!r}"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:  # a port that is no number, or out of range
        raise BadServiceAddress(f"not a usable URL ({error}): {url!r}") from None
    if parts.scheme not in SCHEMES:
        raise BadServiceAddress(f"the URL must start with http:// or https://, got {url!r}")
    if "@" in parts.netloc:
        raise BadServiceAddress(f"the URL must not carry user info (user@host): {url!r}")
    host = check_host(parts.hostname or "")
    return ServiceAddress(
        parts.scheme, host, check_port(DEFAULT_PORTS[parts.scheme] if port is None else port)
    )


def host_in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def service_url(host: str, port: object, scheme: str = "http") -> str:
    """The base URL of a service at ``host:port``, both checked."""
    return f"{scheme}://{host_in_url(check_host(host))}:{check_port(port)}"


@dataclass(frozen=True)
class OwnEndpoints:
    """The ports this node listens on and the addresses of this machine it can be named by."""

    ports: frozenset[int]
    addresses: frozenset[str] = frozenset()
    """Addresses beyond loopback, the wildcards and this machine's interfaces."""

    @classmethod
    def of(cls, http_port: int, listen_addrs: Iterable[str], *addresses: str) -> "OwnEndpoints":
        ports = {http_port} | {int(port) for a in listen_addrs for port in _LISTEN_PORT.findall(a)}
        return cls(frozenset(ports - {0}), frozenset(a.lower() for a in addresses if a))

    def is_own_address(self, host: str) -> bool:
        """``host`` (checked) names this machine without needing a resolver."""
        if host == "localhost" or host.endswith(".localhost") or host in self.addresses:
            return True
        if host in {socket.gethostname().lower(), socket.getfqdn().lower()}:
            return True
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        ip = mapped or ip
        return ip.is_loopback or ip.is_unspecified or str(ip) in _interface_addresses()

    def refuse_own_port(self, address: ServiceAddress, own_host: bool) -> None:
        if own_host and address.port in self.ports:
            raise BadServiceAddress(
                f"a service may not point at this node's own port {address.port} "
                f"({address.host}): peers would reach the node itself through it"
            )

    def check_not_self(self, address: ServiceAddress) -> None:
        """Refuse ``address`` if it is one of this node's ports here (names not resolved)."""
        self.refuse_own_port(address, self.is_own_address(address.host))

    async def check_not_self_resolved(self, address: ServiceAddress) -> None:
        """As ``check_not_self``, and a name is also refused if it resolves to this machine."""
        own = self.is_own_address(address.host)
        if not own and address.port in self.ports:
            own = any(self.is_own_address(ip) for ip in await _resolve(address.host))
        self.refuse_own_port(address, own)


async def _resolve(host: str) -> list[str]:
    """The IPs a name has now; none if it does not resolve in time."""
    with anyio.move_on_after(RESOLVE_TIMEOUT_S):
        try:
            found = await anyio.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError:
            return []
        return [str(entry[4][0]).split("%", 1)[0] for entry in found]
    return []


def _interface_addresses() -> set[str]:
    found = set()
    for addresses in psutil.net_if_addrs().values():
        for entry in addresses:
            if entry.family in (socket.AF_INET, socket.AF_INET6):
                found.add(str(ipaddress.ip_address(entry.address.split("%", 1)[0])))
    return found
