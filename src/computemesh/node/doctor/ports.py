"""The HTTP port and the libp2p listen ports: free, or held by the node on this data dir.

A port in use is fine when the process listening on it is the node that holds this
data dir's lock (doctor run beside a running node); anything else would stop a start.
"""

import socket
from pathlib import Path

import psutil

from computemesh.errors import MeshError
from computemesh.node.data_dir_lock import Holder, current_holder
from computemesh.node.doctor.finding import Finding, fail, ok
from computemesh.p2p.listen_ports import check_free, tcp_port


def check_http_port(host: str, port: int, data_dir: Path) -> Finding:
    check = "HTTP port"
    if port == 0:
        return ok(check, "0: the system picks a free port at start")
    holder = current_holder(data_dir)
    if _is_free(host, port):
        return ok(check, f"{host}:{port} is free")
    if _listens(holder, port):
        return ok(check, f"{host}:{port} is held by this node ({holder})")
    return fail(
        check,
        f"{host}:{port} is in use by {_who_listens(port)}",
        "stop that process, or give this node another --http-port",
    )


def check_listen_ports(listen: list[str], data_dir: Path) -> list[Finding]:
    holder = current_holder(data_dir)
    found = []
    for addr in listen:
        check = f"libp2p port {addr}"
        port: int | None = None
        try:
            port = tcp_port(addr)
            check_free([addr])
        except MeshError as error:
            if port is not None and _listens(holder, port):
                found.append(ok(check, f"held by this node ({holder})"))
                continue
            detail = f"{error}; in use by {_who_listens(port)}" if port else str(error)
            found.append(
                fail(check, detail, "stop that process, or give this node another --listen port")
            )
            continue
        found.append(ok(check, "free" if port else "the system picks a free port at start"))
    return found


def _is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _listens(holder: Holder | None, port: int) -> bool:
    if holder is None or holder.pid is None:
        return False
    try:
        connections = psutil.Process(holder.pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and _port_of(c.laddr) == port for c in connections)


def _port_of(address: object) -> int | None:
    """The port of a psutil address (an empty tuple when the socket has none)."""
    port = getattr(address, "port", None)
    return port if isinstance(port, int) else None


def _who_listens(port: int) -> str:
    """``pid 123 (python3)`` when the system tells us, else ``another process``."""
    try:
        listening = [
            c.pid
            for c in psutil.net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and _port_of(c.laddr) == port and c.pid
        ]
    except psutil.Error:
        listening = []
    if not listening:
        return "another process"
    try:
        return f"pid {listening[0]} ({psutil.Process(listening[0]).name()})"
    except psutil.Error:
        return f"pid {listening[0]}"
