"""Network namespaces a test creates and removes, so addresses that are not loopback
(another machine, a LAN, public ones) exist only inside them and nothing on the host
dials them. Needs root and ``ip netns`` (and iptables for ``nat_topology``);
``require_netns`` and ``require_nat`` skip without them only when CI is unset.
"""

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class Namespace:
    name: str

    def ip(self, *args: str) -> None:
        """``ip -n <name> ...``, checked."""
        subprocess.run(["ip", "-n", self.name, *args], check=True, capture_output=True)

    def run(self, *command: str) -> None:
        """A command inside the namespace, checked."""
        command_line = ["ip", "netns", "exec", self.name, *command]
        subprocess.run(command_line, check=True, capture_output=True)

    def popen(self, command: Sequence[str], **options: Any) -> "subprocess.Popen[bytes]":
        """A process inside the namespace (``ip netns exec`` execs it: same pid)."""
        return subprocess.Popen(["ip", "netns", "exec", self.name, *command], **options)


def _unavailable() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is missing"
    probe = f"cmprobe{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def require_netns() -> None:
    reason = _unavailable()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"this test must run under CI, but {reason}")
    pytest.skip(reason)


@contextmanager
def namespaces(*roles: str) -> Iterator[list[Namespace]]:
    """One fresh namespace per role, loopback up; all removed (with their links) after."""
    tag = secrets.token_hex(3)
    made: list[Namespace] = []
    try:
        for role in roles:
            namespace = Namespace(f"cm{tag}{role}")
            subprocess.run(["ip", "netns", "add", namespace.name], check=True)
            made.append(namespace)
            namespace.ip("link", "set", "lo", "up")
        yield made
    finally:
        for namespace in made:
            subprocess.run(["ip", "netns", "del", namespace.name], capture_output=True)


def link(left: Namespace, left_addr: str, right: Namespace, right_addr: str) -> None:
    """A veth pair between two namespaces, with an address (CIDR) on each end."""
    left_if, right_if = f"{left.name}v"[-15:], f"{right.name}v"[-15:]
    left.ip("link", "add", left_if, "type", "veth", "peer", "name", right_if, "netns", right.name)
    for namespace, interface, addr in ((left, left_if, left_addr), (right, right_if, right_addr)):
        namespace.ip("addr", "add", addr, "dev", interface)
        namespace.ip("link", "set", interface, "up")


def bridge(lan: Namespace, hosts: Sequence[tuple[Namespace, str]]) -> None:
    """A LAN: a bridge in ``lan`` with one veth port per host namespace, which gets the
    address (CIDR) given for it. Multicast floods to every port, as on a switch."""
    lan.ip("link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
    lan.ip("link", "set", "br0", "up")
    for i, (host, addr) in enumerate(hosts):
        host_if, port = f"{host.name}v"[-15:], f"port{i}"
        host.ip("link", "add", host_if, "type", "veth", "peer", "name", port, "netns", lan.name)
        host.ip("addr", "add", addr, "dev", host_if)
        host.ip("link", "set", host_if, "up")
        lan.ip("link", "set", port, "master", "br0")
        lan.ip("link", "set", port, "up")


# -- a small internet with two homes behind NAT ------------------------------------

PUBLIC_NET = "11.0.0.0/24"  # globally routable as far as the nodes can tell
PUBLIC_IP = "11.0.0.1"


@dataclass(frozen=True)
class NatTopology:
    """``public`` (the bootstrap and relays, ``PUBLIC_IP``) and two homes, each a LAN
    (``10.<n>.0.0/24``, the node at ``home_ips[n-1]``) behind its own router that
    masquerades onto the public network (at ``router_ips``) and drops unsolicited
    inbound traffic, as a home router does."""

    public: Namespace
    homes: tuple[Namespace, Namespace]
    routers: tuple[Namespace, Namespace]
    home_ips: tuple[str, str] = ("10.1.0.2", "10.2.0.2")
    router_ips: tuple[str, str] = ("11.0.0.11", "11.0.0.12")


def require_nat() -> None:
    """Namespaces as for ``require_netns``, plus iptables for the routers' NAT."""
    require_netns()
    if shutil.which("iptables") is None:
        reason = "iptables is missing (make system-deps installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"this test must run under CI, but {reason}")
        pytest.skip(reason)


@contextmanager
def nat_topology() -> Iterator[NatTopology]:
    """Build the topology; everything (namespaces, links, rules) goes when it ends."""
    with namespaces("pub", "rt1", "rt2", "home1", "home2") as made:
        public, rt1, rt2, home1, home2 = made
        public.ip("link", "add", "wan", "type", "bridge")
        public.ip("addr", "add", f"{PUBLIC_IP}/24", "dev", "wan")
        public.ip("link", "set", "wan", "up")
        topology = NatTopology(public, (home1, home2), (rt1, rt2))
        for n in (1, 2):
            router, home = topology.routers[n - 1], topology.homes[n - 1]
            _home_router(public, router, topology.router_ips[n - 1], home, n)
        yield topology


def _home_router(
    public: Namespace, router: Namespace, wan_ip: str, home: Namespace, n: int
) -> None:
    """Router ``n``: WAN on the public bridge, LAN 10.n.0.1/24 with the home at .2."""
    wan_if = f"{router.name}w"[-15:]
    public.ip("link", "add", wan_if, "type", "veth", "peer", "name", "wan", "netns", router.name)
    public.ip("link", "set", wan_if, "master", "wan")
    public.ip("link", "set", wan_if, "up")
    router.ip("addr", "add", f"{wan_ip}/24", "dev", "wan")
    router.ip("link", "set", "wan", "up")
    link(router, f"10.{n}.0.1/24", home, f"10.{n}.0.2/24")
    home.ip("route", "add", "default", "via", f"10.{n}.0.1")
    router.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
    # Masquerade keeps a port mapping per source (the kernel's default), and only
    # answers to what the home sent come back in.
    router.run("iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE")
    router.run(
        "iptables", "-A", "FORWARD", "-i", "wan", "-m", "conntrack",
        "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT",
    )  # fmt: skip
    router.run("iptables", "-A", "FORWARD", "-i", "wan", "-j", "DROP")
    # Nor does the router itself answer what nobody inside asked for (no RST either).
    router.run(
        "iptables", "-A", "INPUT", "-i", "wan", "-m", "conntrack",
        "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT",
    )  # fmt: skip
    router.run("iptables", "-A", "INPUT", "-i", "wan", "-j", "DROP")
