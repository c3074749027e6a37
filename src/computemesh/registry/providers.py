"""A service's providers, found without going through the whole table on every request.

Routing asks for a service's providers on every request. Building a row for every
record of the table each time grows with the mesh (3.1 ms per request for 500
nodes on a slow VM, and 9 ms to find one model in a catalog of them all), so the
live records are grouped once per table: by service, by identity entry
(``model=gpt2``), and by identity key a record does not name. The table is
immutable (a change is a new table), so an identity check says when to group again.
Whether a provider is online is still worked out per request: it changes with
time, not with the table.
"""

from collections.abc import Mapping

from computemesh.protocol.mesh import NodeClaims
from computemesh.registry.sync import TableSync
from computemesh.registry.table import NodeTable
from computemesh.registry.view import PeerRow, own_first, row_of

Group = tuple[str, str]  # (service, "" | "key=value" | "!key")
Groups = dict[Group, list[NodeClaims]]
Keys = dict[str, set[str]]  # per service, the identity keys any of its records names


class ProviderIndex:
    def __init__(self, sync: TableSync, online_window: float) -> None:
        self._sync = sync
        self._online_window = online_window
        self._table: NodeTable | None = None
        self._groups: Groups = {}
        self._keys: Keys = {}

    def rows(self, service: str, now: float) -> list[PeerRow]:
        """Every live record that offers ``service``, in ``view.rows``' order."""
        return self._rows(self._records((service, "")), now)

    def claiming(self, service: str, entry: str, now: float) -> list[PeerRow]:
        """The records whose ``service`` lists ``entry`` (``model=gpt2``)."""
        return self._rows(self._records((service, entry)), now)

    def offers(self, service: str, entry: str = "") -> bool:
        """Whether a live record offers ``service`` (with ``entry``, ``model=gpt2``, if given)."""
        return bool(self._records((service, entry)))

    def matching(self, service: str, fields: Mapping[str, str], now: float) -> list[PeerRow]:
        """The records that may serve a request with ``fields``: all that do, maybe more.

        A record serves a field's value if it lists it or does not name that field's
        key at all, so one field the service's records name narrows the search to
        those two groups (the smaller pair of them when several fields do).
        """
        records = self._records((service, ""))
        for key in self._keys.get(service, set()) & fields.keys():
            narrowed = self._groups.get((service, f"{key}={fields[key]}"), [])
            narrowed = narrowed + self._groups.get((service, "!" + key), [])
            if len(narrowed) < len(records):
                records = own_first(self._sync, list({c.peer_id: c for c in narrowed}.values()))
        return self._rows(records, now)

    def _records(self, group: Group) -> list[NodeClaims]:
        if self._sync.table is not self._table:
            self._table = self._sync.table
            self._groups, self._keys = _grouped(own_first(self._sync, self._table.live()))
        return self._groups.get(group, [])

    def _rows(self, records: list[NodeClaims], now: float) -> list[PeerRow]:
        return [row_of(self._sync, claims, now, self._online_window) for claims in records]


def _grouped(
    ordered: list[NodeClaims],
) -> tuple[dict[Group, list[NodeClaims]], dict[str, set[str]]]:
    keys: dict[str, set[str]] = {}
    for claims in ordered:
        for claim in claims.services:
            keys.setdefault(claim.name, set()).update(_keys(claim.identity_group))
    groups: Groups = {}
    for claims in ordered:
        for group in dict.fromkeys(_groups_of(claims, keys)):
            groups.setdefault(group, []).append(claims)
    return groups, keys


def _groups_of(claims: NodeClaims, keys: Keys) -> list[Group]:
    found: list[Group] = []
    for claim in claims.services:
        named = _keys(claim.identity_group)
        found.append((claim.name, ""))
        found += [(claim.name, entry) for entry in claim.identity_group]
        found += [(claim.name, "!" + key) for key in keys[claim.name] - named]
    return found


def _keys(identity_group: tuple[str, ...]) -> set[str]:
    return {entry.partition("=")[0] for entry in identity_group}
