"""Settings for each process: one object per process, built once by the CLI, passed down."""

from computemesh.config.gateway import GatewaySettings
from computemesh.config.node import NodeSettings, RoutingStrategy

__all__ = ["GatewaySettings", "NodeSettings", "RoutingStrategy"]
