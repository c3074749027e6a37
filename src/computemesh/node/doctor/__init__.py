"""``computemesh doctor``: every check of a node's set-up, each with its fix when it fails.

Ports, data dir, identity, join token, bootstraps, reachability, relays, the engine and
its models, and our patches to py-libp2p: what would stop ``node start``, or make a
started node useless, found before it is started (or beside the running one).
"""

from computemesh.config import NodeSettings
from computemesh.node.doctor.data_dir import check_data_dir
from computemesh.node.doctor.engine import check_engine
from computemesh.node.doctor.finding import Finding
from computemesh.node.doctor.identity import check_identity
from computemesh.node.doctor.network import (
    check_bootstraps,
    check_reachability,
    check_relays,
    check_token,
)
from computemesh.node.doctor.patches import check_patches
from computemesh.node.doctor.ports import check_http_port, check_listen_ports

__all__ = ["Finding", "diagnose"]


def diagnose(settings: NodeSettings, load_models: bool = True) -> list[Finding]:
    """Every finding about ``settings``, in the order a start meets them."""
    token_finding, token = check_token(settings)
    return [
        check_patches(),
        check_data_dir(settings.data_dir),
        check_identity(settings.data_dir, settings.key_type),
        check_http_port(settings.http_host, settings.http_port, settings.data_dir),
        *check_listen_ports(settings.listen, settings.data_dir),
        token_finding,
        *check_bootstraps(settings, token),
        check_reachability(settings),
        check_relays(),
        check_engine(settings.engine, load_models),
    ]
