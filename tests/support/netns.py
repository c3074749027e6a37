"""Network namespaces a test creates and removes, so addresses that are not loopback
(another machine, a LAN, public ones) exist only inside them and nothing on the host
dials them. Needs root and ``ip netns``; ``require_netns`` skips without them only
when CI is unset.
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
