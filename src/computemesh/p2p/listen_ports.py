"""Refuse a libp2p listen port that another process already listens on.

py-libp2p opens its listeners with ``SO_REUSEPORT`` (hole punching dials out from the
listen port, which needs it), so a second node started on a port in use binds it
too, without an error, and the kernel then hands it a share of the first node's
inbound connections. ``SO_REUSEPORT`` stays; before the host listens, each TCP listen
address is bound once without it, and a port in use fails that bind as it should.
``SO_REUSEADDR`` is set on that probe so that connections of an earlier run still in
TIME_WAIT do not count as a port in use; on Linux it never lets a bind share a port
that a socket listens on.
"""

import socket

from multiaddr import Multiaddr
from multiaddr.exceptions import ProtocolLookupError

from computemesh.errors import MeshError

_FAMILIES = {"ip4": socket.AF_INET, "ip6": socket.AF_INET6}


def check_free(listen: list[str]) -> None:
    """Raise ``MeshError`` (one line) for a listen address this host could not own alone."""
    for text in listen:
        bound = _tcp_address(text)
        if bound is None:
            continue
        family, ip, port = bound
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((ip, port))
            except OSError as error:
                raise MeshError(
                    f"cannot listen on {text}: {error.strerror or error}"
                    f" (is another node using TCP port {port}?)"
                ) from None


def tcp_port(text: str) -> int | None:
    """The TCP port of an ``/ip4|ip6/…/tcp/<port>`` listen address (None: port 0, or not TCP)."""
    bound = _tcp_address(text)
    return bound[2] if bound else None


def _tcp_address(text: str) -> tuple[socket.AddressFamily, str, int] | None:
    """``(family, ip, port)`` of an ``/ip4|ip6/…/tcp/<port>`` address; None for port 0
    (the system picks a free one) and for addresses that are not plain IP and TCP."""
    try:
        maddr = Multiaddr(text)
    except Exception as error:
        raise MeshError(f"invalid listen multiaddr {text!r}: {error}") from None
    for name, family in _FAMILIES.items():
        try:
            ip, port = maddr.value_for_protocol(name), int(maddr.value_for_protocol("tcp"))
        except ProtocolLookupError:
            continue
        return (family, ip, port) if port else None
    return None
