"""HTTP handlers ask ``NodeState`` for what they mean instead of reaching through it.

``state.dispatcher.providers.claiming(...)`` or ``state.sync.own.services`` tie every
handler to how routing and the registry keep their data; ``NodeState``'s methods
(``rows``, ``mesh_model``, ``own_service``, ``register_models``, …) are the one place
that knows. Found by reading the handlers' syntax trees.
"""

import ast
from pathlib import Path

import computemesh.node.api

API = Path(computemesh.node.api.__file__).parent
STATE = API / "state.py"
# Routing and registry objects NodeState holds; "sync" only its own methods use at all.
OBJECTS = {"sync", "dispatcher", "directory", "projects", "load", "usage"}


def _chain(node: ast.Attribute) -> list[str]:
    names = [node.attr]
    while isinstance(node.value, ast.Attribute):
        node = node.value
        names.append(node.attr)
    if isinstance(node.value, ast.Name):
        names.append(node.value.id)
    return names[::-1]


def reaches(source: str) -> list[str]:
    """``state.<object>.a.b`` chains into the objects above, and any use of ``state.sync``."""
    tree = ast.parse(source)
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner:
            chain = _chain(node)
            into = len(chain) > 1 and chain[0] == "state" and chain[1] in OBJECTS
            if into and (len(chain) > 3 or chain[1] == "sync"):
                found.add(".".join(chain[:3]))
    return sorted(found)


def test_handlers_reach_no_routing_or_registry_object_through_the_state() -> None:
    handlers = [path for path in API.rglob("*.py") if path != STATE]
    assert len(handlers) > 20
    reaching = {str(p.relative_to(API)): reaches(p.read_text()) for p in handlers}
    assert {path: found for path, found in reaching.items() if found} == {}


def test_the_check_finds_what_it_forbids() -> None:
    assert reaches("state.dispatcher.providers.claiming(x)") == ["state.dispatcher.providers"]
    assert reaches("state.sync.own") == ["state.sync.own"]
    assert reaches("view.rows(state.sync, now, window)") == ["state.sync"]
    allowed = "state.settings.token.get_secret_value(); state.host.dial(a); state.load.started()"
    assert reaches(allowed) == []
