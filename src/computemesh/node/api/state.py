"""What the HTTP edge of a running node can reach; built by the daemon."""

from dataclasses import dataclass

from pydantic import SecretStr

from computemesh.registry.sync import TableSync


@dataclass(frozen=True)
class NodeState:
    sync: TableSync
    online_window: float
    admin_token: SecretStr | None
