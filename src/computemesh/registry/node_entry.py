"""Operator edits of this node's own entry (``POST``/``DELETE /v1/dnt/_node``)."""

from typing import Any

from computemesh.registry.service_urls import service_url
from computemesh.registry.services import LocalService, with_entries
from computemesh.registry.sync import TableSync


def update_own(sync: TableSync, update: dict[str, Any]) -> None:
    """Upsert services by name and set owner/role; publishes a new signed version at once.

    The edge has checked each service's host and port (``service_urls``); a bad one
    raises ``BadServiceAddress`` here before anything changes.
    """
    own = sync.own
    services = [
        LocalService(
            name=service["name"],
            url=service_url(service["host"], service["port"]),
            identity_group=tuple(service.get("identity_group", ())),
        )
        for service in update.get("service", [])
    ]
    own.services.update({service.name: service for service in services})
    if update.get("owner") is not None:
        own.owner = update["owner"]
    if update.get("role") is not None:
        own.role = tuple(update["role"])
    own.withdrawn = False
    sync.publish_now()


def withdraw_own(sync: TableSync) -> None:
    sync.own.withdrawn = True
    sync.publish_now()


def takes_entries(sync: TableSync, name: str) -> bool:
    """Whether service ``name`` can get more entries: absent, or already naming its models
    (one without identity groups claims every model, see ``with_entries``)."""
    current = sync.own.services.get(name)
    return current is None or bool(current.identity_group)


def offer_entries(sync: TableSync, name: str, urls: dict[str, str]) -> None:
    """Add ``entry=url`` pairs (a model loaded since the start) to service ``name``; publish."""
    sync.own.services = with_entries(sync.own.services, name, urls)
    sync.publish_now()
