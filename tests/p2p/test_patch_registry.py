"""Every patch to py-libp2p declares what it replaces, and the declarations hold."""

import inspect
import logging
import sys
from typing import Any

import pytest

from computemesh.errors import MeshError
from computemesh.p2p import patch_registry
from computemesh.p2p.host import MeshHost
from computemesh.p2p.patch_registry import Patch, Status, Target, declared, enforce, home
from tests.support.mesh_hosts import mesh_host, network


def test_every_declared_fingerprint_matches_the_installed_libp2p() -> None:
    checked = patch_registry.check(declared())
    assert len(declared()) >= 20  # every module of p2p/ that patches has declared
    assert [c for c in checked if c.status is not Status.MATCHES] == []


def test_a_name_only_imported_is_fingerprinted_where_it_is_defined() -> None:
    assert home("libp2p.stream_muxer.yamux.yamux", "read_exactly") == (
        "libp2p.io.utils",
        "read_exactly",
    )
    via_import = patch_registry.source_sha256("libp2p.stream_muxer.yamux.yamux", "read_exactly")
    assert via_import == patch_registry.source_sha256("libp2p.io.utils", "read_exactly")


def test_a_changed_target_refuses_naming_the_patch() -> None:
    good = declared()[0].targets[0]
    changed = Patch("made_up", (Target(good.module, good.qualname, "0" * 64),))
    with pytest.raises(MeshError, match=rf"made_up \({good.name} changed\)"):
        enforce(False, [changed])


def test_a_missing_target_refuses_too() -> None:
    gone = Patch("gone_one", (Target("libp2p.network.swarm", "Swarm.no_such_method", "0" * 64),))
    with pytest.raises(MeshError, match=r"gone_one \(libp2p.network.swarm.Swarm.no_such_method"):
        enforce(False, [gone])


def test_allowing_a_changed_libp2p_warns_and_reports_it(caplog: pytest.LogCaptureFixture) -> None:
    good = declared()[0].targets[0]
    changed = Patch("allowed_one", (Target(good.module, good.qualname, "f" * 64),))
    with caplog.at_level(logging.WARNING, logger=patch_registry.__name__):
        [checked] = enforce(True, [changed])
        enforce(True, [changed])  # a second check (each host opened checks) warns no more
    assert checked.status is Status.CHANGED
    [warning] = [r for r in caplog.records if "allowed_one" in r.getMessage()]
    assert "allow_changed_libp2p" in warning.getMessage()


async def test_every_replaced_libp2p_name_is_declared() -> None:
    """What is ours inside py-libp2p, once a host runs, is each some patch's declared target."""
    async with mesh_host() as host:
        replaced = _replaced_in_modules_and_classes() | _replaced_on_the_host(host)
    assert len(replaced) >= 20
    targets = [home(t.module, t.qualname) for p in declared() for t in p.targets]
    undeclared = {name for name in replaced if not _covered(home(*name), targets)}
    assert undeclared == set()


def _covered(name: tuple[str, str], targets: list[tuple[str, str]]) -> bool:
    module, qualname = name
    return any(
        module == t_module and (qualname == t_name or qualname.startswith(t_name + "."))
        for t_module, t_name in targets
    )


def _ours(value: object) -> bool:
    if isinstance(value, property):
        return any(_ours(part) for part in (value.fget, value.fset))
    function = getattr(value, "__func__", value)
    return str(getattr(function, "__module__", "")).startswith("computemesh.")


def _replaced_in_modules_and_classes() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for name, module in list(sys.modules.items()):
        if not name.startswith("libp2p.") or module is None:
            continue
        for attribute, value in list(vars(module).items()):
            if _ours(value):
                found.add((name, attribute))
            elif isinstance(value, type) and value.__module__ == name:
                found |= {
                    (name, f"{value.__qualname__}.{a}") for a, v in vars(value).items() if _ours(v)
                }
    return found


def _replaced_on_the_host(host: MeshHost) -> set[tuple[str, str]]:
    """Methods replaced on live objects, and those our subclasses override."""
    swarm = network(host)
    objects: list[Any] = [swarm, swarm.auto_connector, swarm.connection_gate, host._pubsub]
    found: set[tuple[str, str]] = set()
    for thing in objects:
        for attribute, value in vars(thing).items():
            if _ours(value) and (owner := _libp2p_owner(type(thing), attribute)) is not None:
                found.add((owner.__module__, f"{owner.__qualname__}.{attribute}"))
    for ours in (type(host._pubsub), type(host._pubsub.router)):
        for attribute, value in vars(ours).items():
            owner = _libp2p_owner(ours, attribute)
            if owner is not None and inspect.isfunction(value):
                found.add((owner.__module__, f"{owner.__qualname__}.{attribute}"))
    return found


def _libp2p_owner(cls: type, attribute: str) -> type | None:
    """The first py-libp2p class in ``cls``'s MRO that defines ``attribute``."""
    for base in cls.__mro__:
        if base.__module__.startswith("libp2p.") and attribute in vars(base):
            return base
    return None
