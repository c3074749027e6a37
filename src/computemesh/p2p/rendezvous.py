"""Where the nodes of one network meet without being told each other's addresses.

Both names are one-way hashes of the network's join secret, each under its own label:
they tell nothing of the secret, and a node without it cannot compute them (nor pass
the membership challenge once it has found the members anyway). An open mesh, which
has no secret, meets under a fixed name of its own.

- ``rendezvous_key``: the key members announce themselves under in the shared DHT
  (LocalAI's rendezvous idea); the DHT only ever holds this hash and peer addresses.
- ``lan_service_type``: the DNS-SD service type members announce on the LAN by mDNS,
  as libp2p's mDNS spec does for private networks (``_p2p-<fingerprint>._udp``), so
  nodes of other networks on the same LAN do not even see them.
"""

import hashlib

_DHT_LABEL = b"computemesh-rendezvous-v1"
_LAN_LABEL = b"computemesh-lan-v1"
_OPEN = b"open mesh"
OPEN_SERVICE_TYPE = "_p2p._udp.local."
# A DNS-SD service name has at most 15 characters: "p2p-" and 11 more.
_FINGERPRINT_CHARS = 11


def _digest(label: bytes, secret: bytes | None) -> str:
    material = _OPEN if secret is None else b"secret:" + secret
    return hashlib.sha256(label + b"\0" + material).hexdigest()


def rendezvous_key(secret: bytes | None) -> str:
    """64 hex characters: the DHT provider key of the network with ``secret``."""
    return _digest(_DHT_LABEL, secret)


def lan_service_type(secret: bytes | None) -> str:
    """The mDNS service type of the network with ``secret`` (the open mesh: libp2p's)."""
    if secret is None:
        return OPEN_SERVICE_TYPE
    return f"_p2p-{_digest(_LAN_LABEL, secret)[:_FINGERPRINT_CHARS]}._udp.local."
