"""HTTP/1.1 over libp2p streams (protocol ``/libp2p-http``, what go-libp2p-http speaks).

Outbound, an httpx transport for ``libp2p://<peer id>/<path>`` URLs; inbound, an
ASGI server for one stream. Framing is h11's; streams come from ``p2p``.
"""

PROTOCOL = "/libp2p-http"
URL_SCHEME = "libp2p"

# ASGI scope keys set on requests that arrived over the mesh: the operator guard
# refuses such requests whatever address they show, and handlers can see the caller.
VIA_MESH = "computemesh.via_mesh"
CALLER_PEER = "computemesh.peer"
# Set on every scope our h11 server builds: it cancels the app when the caller goes
# away, so a handler need not watch for ``http.disconnect`` itself.
CANCELS_ON_DISCONNECT = "computemesh.cancels_on_disconnect"
# Every request a node sends (forwards to services, upstreams and peers, its own calls)
# carries this header: a request that has it is the node, or something it forwards,
# talking back to a node, and never gets operator rights there.
FORWARDED_MARKER = "x-computemesh-forwarded"
