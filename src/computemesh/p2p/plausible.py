"""Which of a peer's claimed addresses this node is willing to dial.

A signed record, identify or gossipsub's peer exchange lets a peer claim any address,
and every node that believed it would dial there: a port on its own loopback, or
hosts of a private network that peer is not on. An address of a peer is plausible
when this node could really reach that peer there:

- an address the operator gave (a static bootstrap, ``/swarm/connect``), as given;
- an IP this node has seen a connection to or from that peer use;
- a loopback IP only when the peer is on this machine: a connection to it used
  loopback, or this node listens on loopback only and has seen the peer nowhere else;
- another non-public IP (private ranges, shared address space, link-local) only when
  one of this node's interfaces is in that range: the same LAN;
- a public IP.

A name (``/dns4/…``) can resolve to anything, loopback included, so only the
operator's names are dialed; so are unspecified and multicast addresses never.
"""

import ipaddress
from collections.abc import Callable, Iterable

import psutil
from libp2p.peer.id import ID
from multiaddr import Multiaddr

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IP_PROTOCOLS = ("ip4", "ip6")


def local_networks() -> list[Network]:
    """The networks of this machine's interfaces (address and netmask), loopback included."""
    found: list[Network] = []
    for addresses in psutil.net_if_addrs().values():
        for entry in addresses:
            if entry.family.name in ("AF_INET", "AF_INET6") and entry.netmask:
                address = entry.address.split("%", 1)[0]  # fe80::1%eth0
                try:
                    found.append(ipaddress.ip_interface(f"{address}/{entry.netmask}").network)
                except ValueError:
                    continue
    return found


def ip_of(addr: Multiaddr) -> IP | None:
    """The IP an address dials, or None for names and other transports."""
    first = next(iter(addr.items()), None)
    if first is None or first[0].name not in IP_PROTOCOLS:
        return None
    ip = ipaddress.ip_address(first[1])
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return mapped or ip


class AddressPolicy:
    """What this node knows of where each peer is, and the rule above built on it."""

    def __init__(
        self,
        listen: Callable[[], list[Multiaddr]],
        networks: Callable[[], list[Network]] = local_networks,
    ) -> None:
        self._listen = listen
        self._networks = networks
        self._seen: dict[ID, set[IP]] = {}
        self._trusted: dict[ID, set[str]] = {}

    def trust(self, peer: ID, addrs: Iterable[Multiaddr]) -> None:
        """The operator gave these addresses: dial them as they are."""
        self._trusted.setdefault(peer, set()).update(str(a) for a in addrs)

    def observe(self, peer: ID, host: str) -> None:
        """A connection with ``peer`` uses ``host`` as the peer's end."""
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return
        self._seen.setdefault(peer, set()).add(ip)

    def trusted_peers(self) -> set[ID]:
        return set(self._trusted)

    def forget(self, peer: ID) -> None:
        """The peer is gone: drop what was seen of it (the operator's addresses stay)."""
        self._seen.pop(peer, None)

    def retain(self, peers: set[ID]) -> None:
        """Drop what was seen of every peer outside ``peers``."""
        self._seen = {peer: ips for peer, ips in self._seen.items() if peer in peers}

    def plausible(self, peer: ID, addr: Multiaddr) -> bool:
        if str(addr) in self._trusted.get(peer, ()):
            return True
        ip = ip_of(addr)
        if ip is None or ip.is_unspecified or ip.is_multicast:
            return False
        seen = self._seen.get(peer, set())
        if ip in seen:
            return True
        if ip.is_loopback:
            return self._on_this_machine(seen)
        if not ip.is_global:
            return any(ip in network for network in self._networks())
        return True

    def _on_this_machine(self, seen: set[IP]) -> bool:
        if seen:
            return any(ip.is_loopback for ip in seen)
        listening = [ip_of(addr) for addr in self._listen()]
        return bool(listening) and all(ip is not None and ip.is_loopback for ip in listening)
