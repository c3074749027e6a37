"""Serves an ASGI app on a TCP port with the h11 server that answers mesh streams.

A node's HTTP port is its hot path: every request a client sends through the mesh
enters here. Compared with Hypercorn (the node's server before), the app runs in the
connection's own task, a caller that leaves cancels it directly instead of through a
watcher task in each handler, and a response's head leaves with its first body bytes.

The port can be bound before serving begins (``open_listener``), so that a port in
use stops a node at start, before it loads models or joins the mesh. On
``stopping``, the port closes, idle keep-alive connections close at once, and
requests in progress get ``grace`` seconds to finish before they are cancelled.
"""

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
from anyio.abc import SocketAttribute, SocketListener, SocketStream, TaskGroup, TaskStatus
from anyio.streams.stapled import MultiListener

from computemesh.errors import ConfigError
from computemesh.p2phttp.drain import BodyTimeouts, Drain
from computemesh.p2phttp.server import ASGIApp, Origin, serve_connection
from computemesh.p2phttp.tcp import TcpStream

log = logging.getLogger(__name__)

KEEP_ALIVE_S = 5.0  # what Hypercorn and llama.cpp's server allow an idle client
ACCEPT_RETRY_S = 0.1  # after the process ran out of descriptors (or memory) to accept with


async def open_listener(host: str, port: int) -> MultiListener[SocketStream]:
    """The bound HTTP port; ``ConfigError`` in one line when it cannot be bound."""
    try:
        return await anyio.create_tcp_listener(local_host=host, local_port=port)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigError(f"cannot listen for HTTP on {host}:{port}: {reason}") from None


async def serve_tcp(
    app: ASGIApp,
    host: str,
    port: int,
    stopping: anyio.Event,
    grace: float = 1.0,
    keep_alive: float = KEEP_ALIVE_S,
    body: BodyTimeouts | None = None,
    *,
    task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until ``stopping`` is set; ``task_status`` reports the bound port."""
    listener = await open_listener(host, port)
    await serve_listener(app, listener, stopping, grace, keep_alive, body, task_status=task_status)


async def serve_listener(
    app: ASGIApp,
    listener: MultiListener[SocketStream],
    stopping: anyio.Event,
    grace: float = 1.0,
    keep_alive: float = KEEP_ALIVE_S,
    body: BodyTimeouts | None = None,
    *,
    task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """``serve_tcp`` on a port bound before (``open_listener``); it closes on ``stopping``."""
    drain = Drain(keep_alive, body)

    async def handle(stream: SocketStream) -> None:
        try:
            await serve_connection(TcpStream(stream), app, _origin(stream), drain)
        except Exception:  # one broken connection must not take the port down
            log.exception("HTTP connection failed")

    async with anyio.create_task_group() as connections:
        async with listener, anyio.create_task_group() as accepting:
            accepting.start_soon(drain.sweep_forever)
            for one in listener.listeners:  # a host name may bind IPv4 and IPv6
                assert isinstance(one, SocketListener)
                accepting.start_soon(accept_forever, one, handle, connections)
            task_status.started(bound_port(listener))
            await stopping.wait()
            accepting.cancel_scope.cancel()
        drain.close()
        connections.cancel_scope.deadline = anyio.current_time() + grace


Handler = Callable[[SocketStream], Coroutine[Any, Any, None]]


async def accept_forever(listener: SocketListener, handle: Handler, connections: TaskGroup) -> None:
    """Hand each new connection to ``handle``; a failed accept is retried, not fatal.

    anyio's own ``serve`` lets an accept error (EMFILE when the process is out of
    file descriptors) end the loop, and with it the node's HTTP port.
    """
    while True:
        try:
            stream = await listener.accept()
        except anyio.BrokenResourceError as error:
            log.warning("cannot accept an HTTP connection: %s", error.__cause__ or error)
            await anyio.sleep(ACCEPT_RETRY_S)
            continue
        connections.start_soon(handle, stream)


def _origin(stream: SocketStream) -> Origin:
    return Origin(
        client=_host_port(stream.extra(SocketAttribute.remote_address)),
        server=_host_port(stream.extra(SocketAttribute.local_address)),
    )


def _host_port(address: Any) -> tuple[str, int]:
    # IPv6 addresses come with flow info and scope id; ASGI wants (host, port).
    return (str(address[0]), int(address[1]))


def bound_port(listener: Any) -> int:
    return int(listener.extra(SocketAttribute.local_port))
