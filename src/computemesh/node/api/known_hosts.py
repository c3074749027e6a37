"""The node answers only ``Host`` names it knows; others get 421 Misdirected Request.

DNS rebinding: a page of ``evil.example`` re-points its name at 127.0.0.1 and then
reads the node as if it were its own origin; its requests still say
``Host: evil.example``. Known are ``localhost``, every IP literal (a browser cannot
rebind those), the node's own ``http_host`` and ``public_addr``, and the names in
``allowed_hosts`` (``"*"`` answers any). Requests over the mesh never come here: the
peer app has no Host check, as no browser reaches it.
"""

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from computemesh.config import NodeSettings
from computemesh.node.api.surface_errors import surface_error

MISDIRECTED = 421
ALWAYS_KNOWN = frozenset({"localhost"})
ANY = "*"
REMEMBERED = 256


def known_names(settings: NodeSettings) -> frozenset[str]:
    names = [*settings.allowed_hosts, settings.http_host, settings.public_addr]
    return ALWAYS_KNOWN | {_normal(name) for name in names if name.strip()}


class KnownHosts:
    def __init__(self, app: ASGIApp, names: Iterable[str]) -> None:
        self.app = app
        self._names = frozenset(names)
        self._any = ANY in self._names
        # Host values already found known, as sent: the check runs on every request,
        # forwards included, and clients send the same few values again and again.
        self._known: set[bytes] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._any:
            host = _host(scope)
            if host is not None and host not in self._known and not self._check(host):
                name = host.decode("latin-1")
                message = (
                    f"this node does not answer for the host name {name!r}; an operator"
                    " can add it to allowed_hosts"
                )
                response = surface_error(scope["path"], MISDIRECTED, message, "misdirected_request")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _check(self, host: bytes) -> bool:
        known = self._knows(host.decode("latin-1"))
        if known and len(self._known) < REMEMBERED:
            self._known.add(host)
        return known

    def _knows(self, host: str) -> bool:
        try:
            name = urlsplit("//" + host.strip()).hostname or ""
        except ValueError:  # a port that is not a number
            return False
        return _is_ip(name) or _normal(name) in self._names


def _host(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"host":
            return bytes(value)
    return None


def _normal(name: str) -> str:
    return name.strip().strip("[]").rstrip(".").lower()


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
