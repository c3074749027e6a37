"""The gateway's model catalog, read from a node's OCF table."""

from computemesh.gateway.upstream.models import models_from_table


def test_every_model_of_a_service_is_listed_once() -> None:
    service = {
        "name": "llm",
        "status": "online",
        "identity_group": ["model=a", "chat=a", "model=e", "embedding=e"],
    }
    table = {
        "/p1": {"owner": "0xabc", "service": [service]},
        "/p2": {"service": [{**service, "identity_group": ["model=a"]}]},
    }
    found = models_from_table(table, "chain", "0.1")
    assert [model.id for model in found] == ["a", "e"]
    assert {model.author for model in found} == {"0xabc"}
