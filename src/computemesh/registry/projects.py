"""AI projects (AICN's registrations) as services of this node's signed record.

Each registered project/model is one service, named from the pair so every node
derives the same name (``aicn-<hash>``), with identity groups ``project=…``, ``model=…``
and ``type=…``: routing finds providers the way it finds any service. The exact API
URL stays on the serving node; registrations are kept in ``aicn_projects.json`` in the
data directory and come back on restart.
"""

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from computemesh.errors import ConfigError
from computemesh.ids import PeerId
from computemesh.protocol.mesh import ServiceClaim
from computemesh.registry.own_record import OwnRecord
from computemesh.registry.services import LocalService
from computemesh.registry.view import PeerRow

log = logging.getLogger(__name__)
FILE_NAME = "aicn_projects.json"
SERVICE_PREFIX = "aicn-"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclass(frozen=True)
class ProjectModel:
    """One model of an AI project, served by a local HTTP API."""

    project: str
    model: str
    api: str
    type: int = 0

    @property
    def service_name(self) -> str:
        return service_name(self.project, self.model)

    def service(self) -> LocalService:
        # The service points at the API's origin (what probes and /v1/_service use);
        # the exact API URL stays here, on the serving node.
        parts = urlsplit(self.api)
        return LocalService(
            name=self.service_name,
            url=f"{parts.scheme}://{parts.netloc}",
            identity_group=(f"project={self.project}", f"model={self.model}", f"type={self.type}"),
            alive_if_answers=True,  # a model API often serves nothing but its POST route
        )


@dataclass(frozen=True)
class Offer:
    """A project/model some node of the mesh offers, read from its claims."""

    peer: PeerId
    project: str
    model: str
    type: int
    online: bool
    status: str = "online"  # the model's own state, as its node's probe found it


def service_name(project: str, model: str) -> str:
    digest = hashlib.sha256(f"{project}\n{model}".encode()).hexdigest()
    return SERVICE_PREFIX + digest[:24]


def check_local_api(api: str) -> None:
    """The API must be an http(s) URL on this machine (AICN checks the same)."""
    parts = urlsplit(api)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOCAL_HOSTS:
        raise ConfigError(f"api must be an http URL on this machine (127.0.0.1), got {api!r}")


class ProjectStore:
    """The registrations of this node, persisted to the data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME
        self.models: dict[str, ProjectModel] = {}

    def load(self) -> "ProjectStore":
        if not self.path.exists():
            return self
        try:
            entries = json.loads(self.path.read_text())
            loaded = [ProjectModel(**entry) for entry in entries]
        except (OSError, ValueError, TypeError) as error:
            raise ConfigError(
                f"cannot read AI project registrations {self.path}: {error}"
            ) from error
        self.models = {m.service_name: m for m in loaded}
        return self

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps([asdict(m) for m in self.models.values()], indent=2))
        temporary.replace(self.path)  # atomic: a crash never leaves half a file

    def services(self) -> dict[str, LocalService]:
        return {name: model.service() for name, model in self.models.items()}

    def register(self, own: OwnRecord, models: Iterable[ProjectModel]) -> None:
        """Add or replace models (by project and model) and offer them at once."""
        for model in models:
            self.models[model.service_name] = model
            own.services[model.service_name] = model.service()
        self.save()

    def unregister(self, own: OwnRecord, project: str) -> int:
        """Withdraw every model of ``project``; returns how many there were."""
        gone = [name for name, m in self.models.items() if m.project == project]
        for name in gone:
            del self.models[name]
            own.services.pop(name, None)
        self.save()
        return len(gone)

    def find(self, project: str, model: str) -> ProjectModel | None:
        return self.models.get(service_name(project, model))


def offers(rows: Iterable[PeerRow]) -> list[Offer]:
    """Every project/model that live records claim, with whether its node is online."""
    found = []
    for row in rows:
        for claim in row.claims.services:
            offer = _offer(row, claim)
            if offer is not None:
                found.append(offer)
    return found


def _offer(row: PeerRow, claim: ServiceClaim) -> Offer | None:
    if not claim.name.startswith(SERVICE_PREFIX):
        return None
    groups = dict(entry.partition("=")[::2] for entry in claim.identity_group)
    project, model, kind = groups.get("project"), groups.get("model"), groups.get("type", "0")
    if not project or not model or claim.name != service_name(project, model):
        return None
    online = row.online and claim.status == "online"
    kind_number = int(kind) if kind.isdigit() else 0
    return Offer(row.claims.peer_id, project, model, kind_number, online, claim.status)
