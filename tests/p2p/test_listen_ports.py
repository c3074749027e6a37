"""A libp2p listen port in use is refused, although py-libp2p listens with SO_REUSEPORT."""

import socket

import pytest

from computemesh.errors import MeshError
from computemesh.p2p.host import open_mesh_host
from computemesh.p2p.identity import generate


async def test_a_second_host_on_a_port_in_use_is_refused() -> None:
    async with open_mesh_host(generate("ed25519"), ["/ip4/127.0.0.1/tcp/0"]) as first:
        port = first.listen_addrs()[0].rsplit("/", 1)[1]
        taken = f"/ip4/127.0.0.1/tcp/{port}"
        with pytest.raises(MeshError, match=f"cannot listen on {taken}: Address already in use"):
            async with open_mesh_host(generate("ed25519"), [taken]):
                pass
        assert first.listen_addrs() == [taken]


async def test_py_libp2p_still_listens_with_so_reuseport() -> None:
    """Hole punching dials out from the listen port: the check must not take that away."""
    async with open_mesh_host(generate("ed25519"), ["/ip4/127.0.0.1/tcp/0"]) as host:
        port = int(host.listen_addrs()[0].rsplit("/", 1)[1])
        with socket.socket() as sharer:
            sharer.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sharer.bind(("127.0.0.1", port))  # allowed only beside a SO_REUSEPORT listener
