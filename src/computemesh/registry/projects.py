"""AI projects (AICN's registrations) as services of this node's signed record.

Each registered project/model is one service, named from the pair so every node
derives the same name (``aicn-<hash>``), with identity groups ``project=…``, ``model=…``
and ``type=…``: routing finds providers the way it finds any service. The exact API
URL stays on the serving node; registrations are kept in ``aicn_projects.json`` in the
data directory and come back on restart; one that no longer passes the checks of a new
registration is skipped with a warning, and a file that is not a list of them is set
aside (renamed ``….invalid-<time>``), so a bad file never stops a node.
"""

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from computemesh.errors import ConfigError
from computemesh.ids import PeerId
from computemesh.protocol.aicn import ProjectRegistration
from computemesh.protocol.mesh import ServiceClaim
from computemesh.registry.own_record import OwnRecord
from computemesh.registry.service_urls import BadServiceAddress, OwnEndpoints, check_url
from computemesh.registry.services import LocalService
from computemesh.registry.view import PeerRow

log = logging.getLogger(__name__)
FILE_NAME = "aicn_projects.json"
SERVICE_PREFIX = "aicn-"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SAVED_FIELDS = frozenset({"project", "model", "api", "type"})


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
        return LocalService(
            name=self.service_name,
            url=check_url(self.api).origin,
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


def check_local_api(api: str, own: OwnEndpoints | None = None) -> None:
    """The API must be a usable http(s) URL on this machine (AICN checks the same), and
    not on one of this node's own ports (``own``)."""
    address = check_url(api)
    if address.host not in LOCAL_HOSTS:
        raise BadServiceAddress(f"api must be an http URL on this machine (127.0.0.1), got {api!r}")
    if own is not None:
        own.check_not_self(address)


def _saved_model(entry: Any, own: OwnEndpoints | None) -> ProjectModel:
    """One saved registration, checked as a new one would be (``ValueError`` if not)."""
    if not isinstance(entry, dict) or set(entry) != SAVED_FIELDS:
        raise ValueError(f"not an object with exactly {', '.join(sorted(SAVED_FIELDS))}")
    registration = ProjectRegistration.model_validate(
        {"project": entry["project"], "models": [{k: entry[k] for k in ("model", "api", "type")}]}
    )
    [model] = registration.models
    check_local_api(model.api, own)
    return ProjectModel(registration.project, model.model, model.api, int(model.type))


class ProjectStore:
    """The registrations of this node, persisted to the data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME
        self.models: dict[str, ProjectModel] = {}

    def load(self, own: OwnEndpoints | None = None) -> "ProjectStore":
        """The saved registrations that still pass the checks (``own``: this node's ports)."""
        if not self.path.exists():
            return self
        try:
            entries = json.loads(self.path.read_text())
        except OSError as error:
            raise ConfigError(
                f"cannot read AI project registrations {self.path}: {error}"
            ) from None
        except ValueError as error:
            self._set_aside(f"not JSON ({error})")
            return self
        if not isinstance(entries, list):
            self._set_aside(f"a JSON {type(entries).__name__}, not a list of registrations")
            return self
        for entry in entries:
            try:
                model = _saved_model(entry, own)
            except (ValueError, TypeError, ConfigError) as error:
                log.warning("skipping a saved AI project registration %r: %s", entry, error)
                continue
            self.models[model.service_name] = model
        return self

    def _set_aside(self, why: str) -> None:
        """Keep the unusable file for its operator, under a name no start reads again."""
        aside = self.path.with_name(f"{self.path.name}.invalid-{time.strftime('%Y%m%dT%H%M%S')}")
        try:
            self.path.replace(aside)
        except OSError as error:
            raise ConfigError(f"{self.path} is {why} and cannot be moved aside: {error}") from None
        log.warning(
            "%s is %s: moved it to %s and started without registrations", self.path, why, aside
        )

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

    def has_project(self, project: str) -> bool:
        return any(m.project == project for m in self.models.values())

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
