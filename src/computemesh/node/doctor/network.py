"""The node's place in a mesh: join token, bootstraps, reachability from outside, relays."""

import ipaddress

import httpx

from computemesh import jointoken
from computemesh.config import NodeSettings
from computemesh.errors import DialError, TokenError
from computemesh.node.data_dir_lock import current_holder
from computemesh.node.doctor.finding import Finding, fail, note, ok
from computemesh.p2p.host import check_dialable
from computemesh.p2p.probe import greets_as_libp2p

SOURCE_TIMEOUT_S = 5.0


def check_token(settings: NodeSettings) -> tuple[Finding, jointoken.JoinToken | None]:
    check = "join token"
    if settings.token is None:
        return note(check, "none: this node joins an open network"), None
    try:
        token = jointoken.decode(settings.token.get_secret_value())
    except TokenError as error:
        return fail(
            check,
            str(error),
            "paste the whole token the network's operator gave (`computemesh token new` makes one)",
        ), None
    return ok(check, f"a private network's token, with {len(token.bootstraps)} bootstrap(s)"), token


def check_bootstraps(settings: NodeSettings, token: jointoken.JoinToken | None) -> list[Finding]:
    if settings.standalone:
        return [note("bootstrap", "standalone: this node joins no mesh")]
    addrs = [*settings.bootstrap, *(token.bootstraps if token else ())]
    found = [_bootstrap(addr) for addr in addrs]
    found += [_source(url) for url in settings.bootstrap_source]
    if not found:
        found.append(
            note(
                "bootstrap",
                "none: this node starts a mesh of its own, others join it",
                "give --bootstrap <multiaddr of a member> to join an existing mesh",
            )
        )
    return found


def _bootstrap(addr: str) -> Finding:
    check = f"bootstrap {addr}"
    try:
        check_dialable(addr)
        greets_as_libp2p(addr)
    except DialError as error:
        return fail(
            check,
            str(error),
            "check that the bootstrap node runs and that its address (as its /v1/dnt/bootstraps"
            " lists it) is reachable from here",
        )
    return ok(check, "a libp2p node answers")


def _source(url: str) -> Finding:
    check = f"bootstrap source {url}"
    fix = 'check the URL: it must answer {"bootstraps": [...]}'
    try:
        answer = httpx.get(url, timeout=SOURCE_TIMEOUT_S)
        listed = answer.json().get("bootstraps") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError) as error:
        return fail(check, f"cannot read it: {error}", fix)
    if not isinstance(listed, list):
        return fail(check, f"answered {answer.status_code} without a bootstraps list", fix)
    return ok(check, f"lists {len(listed)} bootstrap(s)")


def check_reachability(settings: NodeSettings) -> Finding:
    """What is known without asking the outside: the announced address, and a running
    node's connections (from its own API)."""
    check = "reachable from outside"
    running = _running_node_peers(settings)
    if settings.public_addr:
        try:
            ipaddress.ip_address(settings.public_addr)
        except ValueError:
            return fail(
                check,
                f"public_addr {settings.public_addr!r} is not an IP address",
                "set --public-addr to the IP other nodes dial this machine on",
            )
        return ok(check, f"announced at {settings.public_addr}, listed as a bootstrap{running}")
    return note(
        check,
        f"no public address: only peers this node dials reach it{running}",
        "set --public-addr if other nodes should dial this one",
    )


def _running_node_peers(settings: NodeSettings) -> str:
    holder = current_holder(settings.data_dir)
    if holder is None or holder.http is None:
        return ""
    try:
        # trust_env=False: the node is on this machine; a proxy in the environment is not.
        answer = httpx.get(f"{holder.http}/v1/dnt/stats", timeout=SOURCE_TIMEOUT_S, trust_env=False)
        stats = answer.json()
    except (httpx.HTTPError, ValueError):
        return f"; the node running on this data dir ({holder}) does not answer"
    return f"; the running node has {stats.get('connected_peers', 0)} peer(s) connected"


def check_relays() -> Finding:
    return note("relays", "none configured (this version connects directly only)")
