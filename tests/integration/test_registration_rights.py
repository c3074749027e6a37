"""Issue 18 item 12: AICN register and unregister are operator actions, as ``_node`` is.

A registration publishes a port of this machine to every peer, so a caller without
operator rights gets AICN's permission error (1009, HTTP 403) before its body is read.
"""

from pathlib import Path

import httpx
import pytest

from tests.integration.test_node_api import remote_client  # noqa: F401 (a fixture)

REGISTER = {
    "project": "P",
    "models": [{"model": "M", "api": "http://127.0.0.1:1042/v1/chat/completions", "type": 0}],
}
OPERATOR = {"authorization": "Bearer a-real-admin-token-value"}


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the in-process node (``remote_client``, asked for after this) saves."""
    monkeypatch.setenv("COMPUTEMESH_DATA_DIR", str(tmp_path))
    return tmp_path


async def test_registrations_need_operator_rights(
    data_dir: Path,
    remote_client: httpx.AsyncClient,  # noqa: F811
) -> None:
    calls = [
        ("/api/v0/ai/project/register", REGISTER),
        ("/api/v0/ai/project/register", {"project": "P"}),  # refused before it is read
        ("/api/v0/ai/project/unregister", {"project": "P"}),
    ]
    for path, body in calls:
        for headers in ({}, {"authorization": "Bearer not-the-token"}):
            denied = await remote_client.post(path, json=body, headers=headers)
            assert (denied.status_code, denied.json()["code"]) == (403, 1009), denied.text
            assert "operator" in denied.json()["message"]
    assert not (data_dir / "aicn_projects.json").exists()

    # The operator (here by the admin token) registers and unregisters as before.
    allowed = await remote_client.post(
        "/api/v0/ai/project/register", json=REGISTER, headers=OPERATOR
    )
    assert allowed.json() == {"code": 0, "message": "ok"}
    assert (data_dir / "aicn_projects.json").exists()
    listed = await remote_client.post("/api/v0/ai/projects/list")  # reading stays public
    assert listed.json()["data"] == ["P"]
    gone = await remote_client.post(
        "/api/v0/ai/project/unregister", json={"project": "P"}, headers=OPERATOR
    )
    assert gone.json() == {"code": 0, "message": "ok"}
