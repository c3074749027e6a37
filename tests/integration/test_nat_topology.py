"""The NAT topology itself: homes reach the public network as their router's address,
and nothing on the public side or in the other home can open a connection into a home."""

import subprocess
import sys

from tests.support.netns import PUBLIC_IP, Namespace, nat_topology, require_nat

LISTENER = (
    "import socket,sys;s=socket.socket();s.bind(('0.0.0.0',5000));s.listen();"
    "print('up',flush=True);c,a=s.accept();print(a[0],flush=True)"
)


def connects(namespace: Namespace, ip: str) -> bool:
    probe = f"import socket;socket.create_connection(('{ip}',5000),timeout=2)"
    run = ["ip", "netns", "exec", namespace.name, sys.executable, "-c", probe]
    return subprocess.run(run, capture_output=True).returncode == 0


def listen(namespace: Namespace) -> "subprocess.Popen[bytes]":
    listener = namespace.popen([sys.executable, "-c", LISTENER], stdout=subprocess.PIPE)
    assert listener.stdout is not None
    assert listener.stdout.readline() == b"up\n"
    return listener


def test_homes_are_masqueraded_and_unreachable_from_outside() -> None:
    require_nat()
    with nat_topology() as net:
        public = listen(net.public)
        home = listen(net.homes[0])
        try:
            assert connects(net.homes[0], PUBLIC_IP)
            assert public.stdout is not None
            assert public.stdout.readline().decode().strip() == net.router_ips[0]
            for outside in (net.public, net.homes[1]):
                assert not connects(outside, net.home_ips[0])
                assert not connects(outside, net.router_ips[0])
        finally:
            public.kill()
            home.kill()
