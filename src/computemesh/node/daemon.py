"""Composition root of a node: builds every part from settings and owns their lifetimes.

Start-up order: checks (bootstraps, data dir lock, ports; the HTTP port is bound) →
local models → identity → libp2p host → table sync → forwarding (``/libp2p-http``)
→ bootstrap, discovery (mDNS, the DHT rendezvous) → service probes → HTTP served.
A SIGINT/SIGTERM publishes a signed tombstone, then closes every connection.

Every background loop runs supervised (``computemesh.supervise``): one that raises is
logged and restarted, so no probe, claim or loop can end the node.
"""

import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import anyio
import httpx
from anyio.abc import SocketStream
from anyio.streams.stapled import MultiListener

from computemesh import __version__, jointoken
from computemesh.config import NodeSettings
from computemesh.errors import ConfigError, DialError
from computemesh.hardware.summary import summary
from computemesh.inference import LoadProgress
from computemesh.node.api.metrics.instruments import NodeMetrics
from computemesh.node.api.metrics.watch import watch as watch_metrics
from computemesh.node.api.state import HttpClients, NodeState
from computemesh.node.app import create_app, create_peer_app
from computemesh.node.data_dir_lock import hold_data_dir
from computemesh.node.load_times import LoadTimes
from computemesh.node.local_engine import LLM_SERVICE, LocalModels, open_local_models
from computemesh.node.loop_lag import watch_loop_lag
from computemesh.p2p import patch_registry
from computemesh.p2p.circuit import CircuitLimits, RelayLimits
from computemesh.p2p.discovery import Discovery
from computemesh.p2p.host import MeshHost, check_dialable, open_mesh_host
from computemesh.p2p.identity import load_or_create
from computemesh.p2p.listen_ports import check_free as check_listen_ports
from computemesh.p2phttp import PROTOCOL as HTTP_PROTOCOL
from computemesh.p2phttp.direct import DirectSender
from computemesh.p2phttp.drain import BodyTimeouts, Drain
from computemesh.p2phttp.listener import bound_port, open_listener, serve_listener
from computemesh.p2phttp.mesh import mesh_pool
from computemesh.p2phttp.pool import ChannelPool
from computemesh.p2phttp.server import serve_stream
from computemesh.p2phttp.tcp import open_tcp
from computemesh.p2phttp.transport import H11Transport, peer_locator, tcp_locator
from computemesh.registry.bootstrap import Bootstrapper
from computemesh.registry.health import probe_forever
from computemesh.registry.own_record import OwnRecord
from computemesh.registry.projects import ProjectStore
from computemesh.registry.providers import ProviderIndex
from computemesh.registry.service_urls import BadServiceAddress, OwnEndpoints, check_url
from computemesh.registry.services import LocalService, parse_services, with_entries
from computemesh.registry.sync import TableSync
from computemesh.routing.directory import PeerDirectory
from computemesh.routing.dispatcher import Dispatcher
from computemesh.routing.forwarder import Timeouts
from computemesh.routing.load import LoadMeter, report_load
from computemesh.routing.stats import ProviderStats
from computemesh.supervise import supervise

log = logging.getLogger(__name__)
Ready = Callable[[NodeState], None]
HttpListener = MultiListener[SocketStream]


async def run_node(
    settings: NodeSettings, on_ready: Ready | None = None, progress: LoadProgress | None = None
) -> None:
    """Run a node until SIGINT/SIGTERM, then leave the mesh cleanly.

    What can stop a start is checked first, before local models load (minutes, for a
    large one): py-libp2p against our patches to it, the bootstrap addresses, the data
    dir (locked for the node's life: one node per identity), the libp2p listen ports,
    the HTTP port (bound here, so no other process can take it meanwhile). Each failure
    is one ``ComputemeshError``.
    Local models load next (``progress`` shows them), so the first signed record
    already offers them, and they stop only after the node has left the mesh.
    """
    patch_registry.enforce(settings.allow_changed_libp2p)  # open_mesh_host checks again
    services = parse_services(settings.service, settings.identity_group)
    token = jointoken.decode(settings.token.get_secret_value()) if settings.token else None
    _check_bootstraps(settings, token)
    with hold_data_dir(settings.data_dir) as lock:
        check_listen_ports(settings.listen)  # open_mesh_host checks again, after the models
        listener = await open_listener(settings.http_host, settings.http_port)
        async with listener:
            lock.describe(_http_url(settings.http_host, bound_port(listener)))
            loads = LoadTimes(progress)
            async with open_local_models(settings.engine, settings.data_dir, loads) as models:
                services = with_entries(services, LLM_SERVICE, models.entries)
                await _run_mesh_node(settings, token, services, models, listener, on_ready, loads)


def _check_bootstraps(settings: NodeSettings, token: jointoken.JoinToken | None) -> None:
    """A bootstrap that is no dialable address would be retried forever: refuse it now."""
    for addr in [*settings.bootstrap, *(token.bootstraps if token else ())]:
        try:
            check_dialable(addr)
        except DialError as error:
            raise ConfigError(f"invalid bootstrap: {error}") from None


def _http_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _run_mesh_node(
    settings: NodeSettings,
    token: jointoken.JoinToken | None,
    services: dict[str, LocalService],
    models: LocalModels,
    listener: HttpListener,
    on_ready: Ready | None,
    loads: LoadTimes,
) -> None:
    identity = load_or_create(settings.data_dir, settings.key_type)
    async with open_mesh_host(
        identity,
        settings.listen,
        network_secret=token.secret if token else None,
        max_peers=settings.max_peers,
        forget_after=settings.peer_forget_after,
        dial_rate=settings.dial_rate,
        dial_burst=settings.dial_burst,
        allow_changed_libp2p=settings.allow_changed_libp2p,
        dht=not settings.standalone,
        relay_limits=_relay_limits(settings),
    ) as host:
        endpoints = _own_endpoints(settings, host)
        _refuse_self_pointing(services, endpoints)
        projects = ProjectStore(settings.data_dir).load(endpoints)  # AICN registrations
        own = OwnRecord(
            peer_id=host.peer_id,
            ttl=settings.record_ttl,
            version=__version__,
            owner=settings.owner,
            role=tuple(settings.role),
            public_address=settings.public_addr,
            hardware=summary(),
            services={**services, **projects.services()},
        )
        sync = TableSync(
            host, identity.sign, own, refresh=settings.refresh_seconds, max_peers=settings.max_peers
        )
        async with open_http_client(host, PeerDirectory(sync)) as (clients, directory):
            state = build_state(settings, sync, clients, directory, projects, models, loads.seconds)
            peer_app: Any = create_peer_app(state)
            # The peers' kept-alive streams: idle ones closed in time, stalled bodies too.
            peers = Drain(body=_body_timeouts(settings))
            host.set_handler(HTTP_PROTOCOL, lambda stream: serve_stream(stream, peer_app, peers))
            bootstrapper = _bootstrapper(settings, host, token)
            mdns = settings.mdns and not settings.standalone
            discovery = Discovery(host, token.secret if token else None, mdns=mdns)
            await _serve(
                settings, host, sync, state, bootstrapper, discovery, peers, listener, on_ready
            )


def _relay_limits(settings: NodeSettings) -> RelayLimits | None:
    if not settings.relay_service:
        return None
    return RelayLimits(
        member=CircuitLimits(settings.relay_member_circuit_s, settings.relay_member_circuit_bytes),
        stranger=CircuitLimits(
            settings.relay_stranger_circuit_s, settings.relay_stranger_circuit_bytes
        ),
        max_reservations=settings.relay_max_reservations,
        circuits_per_peer=settings.relay_circuits_per_peer,
        reservation_ttl_s=settings.relay_reservation_ttl,
    )


def _own_endpoints(settings: NodeSettings, host: MeshHost) -> OwnEndpoints:
    return OwnEndpoints.of(
        settings.http_port, host.listen_addrs(), settings.http_host, settings.public_addr
    )


def _refuse_self_pointing(services: dict[str, LocalService], own: OwnEndpoints) -> None:
    """A ``--service`` on this node's own ports would hand peers the node itself."""
    for service in services.values():
        for url in (service.url, *(url for _, url in service.entry_urls)):
            try:
                own.check_not_self(check_url(url))
            except BadServiceAddress as error:
                raise ConfigError(f"--service {service.name}: {error}") from None


@asynccontextmanager
async def open_http_client(
    host: MeshHost, directory: PeerDirectory
) -> AsyncIterator[tuple[HttpClients, PeerDirectory]]:
    """Plain HTTP to local upstreams and libp2p:// to peers, over the same pooled transports."""
    mesh = H11Transport(mesh_pool(host, directory.addresses), peer_locator(directory.resolve))
    tcp = H11Transport(ChannelPool(open_tcp), tcp_locator)
    forwarding = DirectSender({"libp2p": mesh, "http": tcp})
    # trust_env=False: a proxy named in the environment must never see these requests;
    # no cookie is kept, as a node calls out for many different users.
    async with httpx.AsyncClient(
        mounts={"libp2p://": mesh, "http://": tcp},
        trust_env=False,
        follow_redirects=False,
        cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
    ) as http:
        yield HttpClients(http, forwarding), directory


def build_state(
    settings: NodeSettings,
    sync: TableSync,
    clients: HttpClients,
    directory: PeerDirectory,
    projects: ProjectStore | None = None,
    models: LocalModels | None = None,
    model_load_seconds: dict[str, float] | None = None,
) -> NodeState:
    timeouts = Timeouts(
        connect=settings.forward_connect_timeout,
        first_byte=settings.forward_first_byte_timeout,
        total=settings.forward_total_timeout,
    )
    dispatcher = Dispatcher(
        http=clients.forwarding,
        providers=ProviderIndex(sync, settings.online_window),
        local_url=sync.own.service_url,
        strategy=settings.routing_strategy,
        timeouts=timeouts,
        max_attempts=settings.forward_attempts,
        stats=ProviderStats(),
    )
    state = NodeState(
        sync=sync,
        online_window=settings.online_window,
        admin_token=settings.admin_token,
        http=clients.http,
        forwarding=clients.forwarding,
        directory=directory,
        dispatcher=dispatcher,
        load=LoadMeter(),
        timeouts=timeouts,
        settings=settings,
        projects=projects or ProjectStore(settings.data_dir),
        local_models=models or LocalModels(settings.engine, settings.data_dir),
        metrics=NodeMetrics(settings.metrics),
        model_load_seconds=model_load_seconds if model_load_seconds is not None else {},
    )
    watch_metrics(state)
    return state


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
    discovery: Discovery,
    peers: Drain,
    listener: HttpListener,
    on_ready: Ready | None,
) -> None:
    stopping = anyio.Event()
    async with anyio.create_task_group() as tasks:
        await tasks.start(sync.run)
        probes = partial(probe_forever, sync.own, settings.service_probe_interval, sync.publish_now)
        tasks.start_soon(supervise, "peer stream sweep", peers.sweep_forever)
        tasks.start_soon(supervise, "bootstrap", bootstrapper.run)
        for name, loop in discovery.loops():
            tasks.start_soon(supervise, name, loop)
        tasks.start_soon(supervise, "service probes", probes)
        tasks.start_soon(
            supervise, "load reports", partial(report_load, state.load, sync.own, sync.publish_now)
        )
        tasks.start_soon(supervise, "loop lag watch", partial(watch_loop_lag, sync.counts))
        # The HTTP server owns (and closes) the listener, so it cannot be restarted; its
        # connections are contained one by one (serve_listener).
        tasks.start_soon(_serve_http, settings, state, listener, stopping)
        tasks.start_soon(_wait_for_signal, stopping)
        log.info("node %s listening on %s", host.peer_id, ", ".join(host.listen_addrs()))
        if on_ready:
            on_ready(state)
        await stopping.wait()
        log.info("stopping: publishing tombstone")
        with anyio.move_on_after(3, shield=True):
            await sync.leave()
        tasks.cancel_scope.cancel()


async def _serve_http(
    settings: NodeSettings, state: NodeState, listener: HttpListener, stopping: anyio.Event
) -> None:
    app: Any = create_app(state)
    await serve_listener(app, listener, stopping, grace=1.0, body=_body_timeouts(settings))


def _body_timeouts(settings: NodeSettings) -> BodyTimeouts:
    return BodyTimeouts(idle=settings.body_idle_timeout, total=settings.body_total_timeout)


async def _wait_for_signal(stopping: anyio.Event) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            stopping.set()
            return
