"""Composition root of a node: builds every part from settings and owns their lifetimes.

Start-up order: identity → libp2p host → table sync → bootstrap → service probes →
HTTP. A SIGINT/SIGTERM publishes a signed tombstone, then closes every connection.
"""

import logging
import signal
from collections.abc import Callable

import anyio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from computemesh import __version__, jointoken
from computemesh.config import NodeSettings
from computemesh.hardware.summary import summary
from computemesh.node.api.state import NodeState
from computemesh.node.app import create_app
from computemesh.p2p.host import MeshHost, open_mesh_host
from computemesh.p2p.identity import load_or_create
from computemesh.registry.bootstrap import Bootstrapper
from computemesh.registry.health import probe_forever
from computemesh.registry.own_record import OwnRecord
from computemesh.registry.services import parse_services
from computemesh.registry.sync import TableSync

log = logging.getLogger(__name__)
Ready = Callable[[NodeState], None]


async def run_node(settings: NodeSettings, on_ready: Ready | None = None) -> None:
    """Run a node until SIGINT/SIGTERM, then leave the mesh cleanly."""
    identity = load_or_create(settings.data_dir, settings.key_type)
    token = jointoken.decode(settings.token.get_secret_value()) if settings.token else None
    services = parse_services(settings.service, settings.identity_group)
    async with open_mesh_host(
        identity,
        settings.listen,
        network_secret=token.secret if token else None,
        max_peers=settings.max_peers,
    ) as host:
        own = OwnRecord(
            peer_id=host.peer_id,
            ttl=settings.record_ttl,
            version=__version__,
            owner=settings.owner,
            role=tuple(settings.role),
            public_address=settings.public_addr,
            hardware=summary(),
            services=services,
        )
        sync = TableSync(
            host, identity.sign, own, refresh=settings.refresh_seconds, max_peers=settings.max_peers
        )
        state = NodeState(
            sync=sync,
            online_window=settings.online_window,
            admin_token=settings.admin_token,
        )
        await _serve(settings, host, sync, state, _bootstrapper(settings, host, token), on_ready)


def _bootstrapper(
    settings: NodeSettings, host: MeshHost, token: jointoken.JoinToken | None
) -> Bootstrapper:
    static = (
        [] if settings.standalone else [*settings.bootstrap, *(token.bootstraps if token else ())]
    )
    sources = [] if settings.standalone else settings.bootstrap_source
    return Bootstrapper(
        host,
        static,
        sources,
        initial_delay=settings.reconnect_initial,
        max_delay=settings.reconnect_max,
    )


async def _serve(
    settings: NodeSettings,
    host: MeshHost,
    sync: TableSync,
    state: NodeState,
    bootstrapper: Bootstrapper,
    on_ready: Ready | None,
) -> None:
    stopping = anyio.Event()
    async with anyio.create_task_group() as tasks:
        await tasks.start(sync.run)
        tasks.start_soon(bootstrapper.run)
        tasks.start_soon(probe_forever, sync.own, settings.service_probe_interval, sync.publish_now)
        tasks.start_soon(_serve_http, settings, state, stopping)
        tasks.start_soon(_wait_for_signal, stopping)
        log.info("node %s listening on %s", host.peer_id, ", ".join(host.listen_addrs()))
        if on_ready:
            on_ready(state)
        await stopping.wait()
        log.info("stopping: publishing tombstone")
        with anyio.move_on_after(3, shield=True):
            await sync.leave()
        tasks.cancel_scope.cancel()


async def _serve_http(settings: NodeSettings, state: NodeState, stopping: anyio.Event) -> None:
    config = HypercornConfig()
    config.bind = [f"{settings.http_host}:{settings.http_port}"]
    config.accesslog = None
    config.graceful_timeout = 1.0
    await serve(create_app(state), config, shutdown_trigger=stopping.wait)  # type: ignore[arg-type]


async def _wait_for_signal(stopping: anyio.Event) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            stopping.set()
            return
