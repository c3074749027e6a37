"""A service's state in OCF's words on the OCF view; the gateway reads both vocabularies."""

from computemesh.gateway.upstream.models import models_from_table
from computemesh.node.api.ocf.models import service_json
from computemesh.protocol.mesh import ServiceClaim


def test_the_ocf_view_says_connected_and_disconnected() -> None:
    up = ServiceClaim(name="llm", host="h", port=1, status="online")
    down = ServiceClaim(name="llm", host="h", port=1, status="unhealthy")
    assert (service_json(up).status, service_json(down).status) == ("connected", "disconnected")


def test_the_gateway_lists_services_up_in_either_vocabulary() -> None:
    def peer(model: str, status: str) -> dict[str, object]:
        service = {"name": "llm", "status": status, "identity_group": [f"model={model}"]}
        return {"service": [service]}

    table = {
        "/ocf": peer("from-ocf", "connected"),
        "/older": peer("from-older-node", "online"),
        "/down": peer("down", "disconnected"),
        "/sick": peer("sick", "unhealthy"),
    }
    found = models_from_table(table, "chain", "0.1")
    assert sorted(model.id for model in found) == ["from-ocf", "from-older-node"]
