"""Is a libp2p node listening at a multiaddr? A TCP connection and multistream's greeting.

Enough for ``computemesh doctor`` to tell "nothing listens there" from "something that
is not libp2p listens there" from "a libp2p node answers", without a host, a key or a
handshake: the listener greets a new connection with the multistream-select header.
"""

import socket

from multiaddr import Multiaddr
from multiaddr.exceptions import ProtocolLookupError

from computemesh.errors import DialError

MULTISTREAM = b"/multistream/1.0.0\n"
_HOST_PROTOCOLS = ("ip4", "ip6", "dns4", "dns6", "dns")


def tcp_endpoint(addr: str) -> tuple[str, int]:
    """``(host, port)`` of a TCP multiaddr; ``DialError`` for any other."""
    try:
        maddr = Multiaddr(addr)
        port = int(maddr.value_for_protocol("tcp"))
    except (ProtocolLookupError, ValueError, TypeError) as error:
        raise DialError(f"not a TCP multiaddr: {addr!r} ({error})") from None
    for name in _HOST_PROTOCOLS:
        try:
            return str(maddr.value_for_protocol(name)), port
        except ProtocolLookupError:
            continue
    raise DialError(f"no IP or DNS host in {addr!r}")


def greets_as_libp2p(addr: str, timeout: float = 3.0) -> None:
    """Return if a libp2p listener answers at ``addr``; else ``DialError`` saying what did."""
    host, port = tcp_endpoint(addr)
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(bytes([len(MULTISTREAM)]) + MULTISTREAM)
            greeting = conn.recv(64)
    except OSError as error:
        raise DialError(f"cannot connect to {host}:{port}: {error.strerror or error}") from None
    if MULTISTREAM not in greeting:
        raise DialError(f"{host}:{port} answers, but not as a libp2p node")
