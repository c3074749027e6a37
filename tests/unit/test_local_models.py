"""Local models as service entries, the mesh's model catalog, and the engine settings."""

import time
from pathlib import Path

import pytest

from computemesh.config import NodeSettings
from computemesh.errors import ConfigError
from computemesh.ids import PeerId
from computemesh.inference.spec import ModelKind
from computemesh.protocol.mesh import NodeClaims, ServiceClaim
from computemesh.registry.observations import Observation
from computemesh.registry.services import LocalService, parse_services, with_entries
from computemesh.registry.view import PeerRow
from computemesh.routing.catalog import KINDS, mesh_models

ENGINE = {"model=a": "http://127.0.0.1:1001", "model=b": "http://127.0.0.1:1002"}


def test_engine_models_become_one_llm_service_with_a_url_per_model() -> None:
    services = with_entries({}, "llm", ENGINE)
    llm = services["llm"]
    assert llm.identity_group == ("model=a", "model=b")
    assert llm.url_for({"model": "b"}) == "http://127.0.0.1:1002"
    assert llm.url_for({"model": "a", "x": "y"}) == "http://127.0.0.1:1001"
    assert llm.claim().identity_group == ("model=a", "model=b")


def test_engine_models_join_an_upstream_that_names_its_models() -> None:
    upstream = parse_services(["llm=http://vllm:8000"], ["llm:model=big"])
    llm = with_entries(upstream, "llm", ENGINE)["llm"]
    assert llm.identity_group == ("model=big", "model=a", "model=b")
    assert llm.url_for({"model": "big"}) == "http://vllm:8000"
    assert llm.url_for({"model": "a"}) == "http://127.0.0.1:1001"


def test_an_upstream_claiming_every_model_cannot_be_narrowed() -> None:
    with pytest.raises(ConfigError, match="identity-group"):
        with_entries(parse_services(["llm=http://vllm:8000"], []), "llm", ENGINE)


def test_no_models_leaves_services_alone() -> None:
    services = {"x": LocalService("x", "http://h:1")}
    assert with_entries(services, "llm", {}) is services


def _row(peer: str, *claims: ServiceClaim, online: bool = True) -> PeerRow:
    record = NodeClaims(peer_id=PeerId(peer), seq=1, issued_at=time.time(), ttl=60, services=claims)
    return PeerRow(record, Observation(), online=online, is_self=False)


def test_catalog_knows_offline_models_but_marks_them() -> None:
    rows = [
        _row("p1", ServiceClaim(name="llm", identity_group=("model=a", "model=b"))),
        _row("p2", ServiceClaim(name="llm", identity_group=("model=b",), status="unhealthy")),
        _row("p3", ServiceClaim(name="llm", identity_group=("model=c",)), online=False),
        _row("p4", ServiceClaim(name="other", identity_group=("model=d",))),
    ]
    models = mesh_models(rows)
    assert list(models) == ["a", "b", "c"]
    assert [m.online for m in models.values()] == [True, True, False]


def test_catalog_reads_what_each_model_answers() -> None:
    rows = [
        _row("p1", ServiceClaim(name="llm", identity_group=("model=a", "chat=a", "model=e"))),
        _row("p2", ServiceClaim(name="llm", identity_group=("model=e", "embedding=e"))),
        _row("p3", ServiceClaim(name="llm", identity_group=("model=x", "embedding=x"))),
    ]
    models = mesh_models(rows)
    assert models["a"].answers("chat")
    assert not models["a"].answers("embedding")
    assert not models["x"].answers("chat")
    # p1 serves e without saying what it is, so e may be asked anything.
    assert models["e"].answers("chat")
    assert models["e"].answers("embedding")


def test_the_engine_kinds_are_the_catalog_kinds() -> None:
    assert {kind.value for kind in ModelKind} == set(KINDS)


def test_node_runs_no_engine_unless_asked() -> None:
    assert not NodeSettings.load().engine.wanted
    assert NodeSettings.load(engine={"embeddings": True}).engine.wanted


def test_engine_settings_from_env_and_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPUTEMESH_ENGINE__THREADS", "3")
    settings = NodeSettings.load(engine={"serve_default_model": True})
    assert settings.engine.threads == 3
    assert settings.engine.serve_default_model


def test_default_cache_dir_is_in_the_home_folder() -> None:
    cache = NodeSettings.load().engine.cache_dir
    assert cache == Path.home() / ".computemesh" / "models"
