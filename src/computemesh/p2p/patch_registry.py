"""What every one of our py-libp2p patches replaces, and the start-up check that it still does.

Each patch in ``p2p/`` declares, with :func:`declare`, the py-libp2p names it replaces or
relies on (module and qualified name) and the SHA-256 of their source as it reads in the
libp2p release the patch was written against. At start the node compares them with the
installed py-libp2p (:func:`enforce`): a patch whose target changed, or is gone, may no
longer fix anything, or may break what replaced it, so the node refuses to start and names
it, unless the operator allows it for development (then with a warning).

The source of a target is read from its module's file and found with ``ast``, not from the
live object, so a fingerprint is the same before and after our patches are installed. A
name the module only imports (``from libp2p.io.utils import read_exactly``) is followed to
the module that defines it: a patch that rebinds it there depends on both.
"""

import ast
import functools
import hashlib
import importlib
import importlib.util
import inspect
import logging
from dataclasses import dataclass
from enum import Enum

from computemesh.errors import MeshError

log = logging.getLogger(__name__)

WRITTEN_AGAINST = "libp2p==0.8.1"
_MAX_IMPORT_HOPS = 5

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Assign | ast.AnnAssign


@dataclass(frozen=True)
class Target:
    """One py-libp2p name a patch replaces: ``module``, ``qualname`` and its source's hash."""

    module: str
    qualname: str
    sha256: str

    @property
    def name(self) -> str:
        return f"{self.module}.{self.qualname}"


@dataclass(frozen=True)
class Patch:
    name: str
    targets: tuple[Target, ...]


class Status(Enum):
    MATCHES = "matches"  # the source is the one the patch was written against
    CHANGED = "changed"
    MISSING = "missing"  # the module or the name is gone


@dataclass(frozen=True)
class Checked:
    patch: str
    target: Target
    status: Status


_declared: dict[str, Patch] = {}
_warned: set[str] = set()


def declare(name: str, *targets: Target) -> Patch:
    """Record patch ``name`` and what it replaces; called once, where the patch lives."""
    patch = Patch(name, targets)
    if _declared.setdefault(name, patch) != patch:
        raise ValueError(f"patch {name!r} is declared twice, differently")
    return patch


def declared() -> list[Patch]:
    return sorted(_declared.values(), key=lambda patch: patch.name)


def check(patches: list[Patch]) -> list[Checked]:
    """Each target of each patch against the installed py-libp2p."""
    return [
        Checked(patch.name, target, _status(target))
        for patch in patches
        for target in patch.targets
    ]


def enforce(allow_changed: bool, patches: list[Patch] | None = None) -> list[Checked]:
    """Raise ``MeshError`` naming each patch whose target no longer matches, unless
    ``allow_changed``: then warn. Returns every target's status (what ``/v1/dnt/stats`` lists)."""
    checked = check(declared() if patches is None else patches)
    drifted = [c for c in checked if c.status is not Status.MATCHES]
    if not drifted:
        return checked
    described = "; ".join(f"{c.patch} ({c.target.name} {c.status.value})" for c in drifted)
    if not allow_changed:
        raise MeshError(
            f"the installed py-libp2p is not the one our patches were written against"
            f" ({WRITTEN_AGAINST}): {described}; install {WRITTEN_AGAINST}, or set"
            " allow_changed_libp2p to start anyway (development only)"
        )
    if described not in _warned:  # the daemon and each host it opens check: warn once
        _warned.add(described)
        log.warning(
            "starting with py-libp2p patches whose targets changed (allow_changed_libp2p): %s",
            described,
        )
    return checked


def _status(target: Target) -> Status:
    found = source_sha256(target.module, target.qualname)
    if found is None:
        return Status.MISSING
    return Status.MATCHES if found == target.sha256 else Status.CHANGED


@functools.cache
def source_sha256(module: str, qualname: str) -> str | None:
    """SHA-256 of the source of ``qualname`` in ``module``; None if either is gone."""
    source = _definition_source(module, qualname)
    return None if source is None else hashlib.sha256(source.encode()).hexdigest()


def home(module: str, qualname: str) -> tuple[str, str]:
    """Where ``qualname``, as ``module`` names it, is defined (imports followed)."""
    for _ in range(_MAX_IMPORT_HOPS):
        parsed = _parsed(module)
        imported = None if parsed is None else _imported_from(parsed[1], module, qualname)
        if imported is None:
            break
        module = imported
    return module, qualname


def _definition_source(module: str, qualname: str) -> str | None:
    module, qualname = home(module, qualname)
    parsed = _parsed(module)
    if parsed is None:
        return None
    lines, tree = parsed
    nodes = _find(tree.body, qualname.split("."))
    # Whole lines, from the first of the definition (after its decorators) to its last.
    found = ["".join(lines[node.lineno - 1 : node.end_lineno]) for node in nodes]
    return "".join(found) if found else None


# The installed py-libp2p does not change while the process runs: each module is read
# and parsed once (parsing the swarm's 2,000 lines is most of a check's cost).
@functools.cache
def _parsed(module: str) -> tuple[list[str], ast.Module] | None:
    try:
        text = inspect.getsource(importlib.import_module(module))
    except (ImportError, OSError, TypeError):
        return None
    return text.splitlines(keepends=True), ast.parse(text)


def _imported_from(tree: ast.Module, module: str, qualname: str) -> str | None:
    """The module the first part of ``qualname`` is imported from at the top of
    ``module``'s source, if it is."""
    name = qualname.split(".")[0]
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom):
            continue
        if any((alias.asname or alias.name) == name for alias in node.names):
            relative = "." * node.level + (node.module or "")
            package = module if _is_package(module) else module.rpartition(".")[0]
            return importlib.util.resolve_name(relative, package)
    return None


def _is_package(module: str) -> bool:
    return hasattr(importlib.import_module(module), "__path__")


def _find(body: list[ast.stmt], path: list[str]) -> list[Definition]:
    """Every definition of ``path`` (a property's getter and setter are two)."""
    name, *rest = path
    found: list[Definition] = []
    for node in body:
        if _defines(node, name):
            if not rest:
                found.append(node)  # type: ignore[arg-type]
            elif isinstance(node, ast.ClassDef):
                found.extend(_find(node.body, rest))
    return found


def _defines(node: ast.stmt, name: str) -> bool:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name == name
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.target.id == name
    return False
