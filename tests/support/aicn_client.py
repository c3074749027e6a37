"""A client written to the AICN API: its exact request bodies, its envelope.

Each call posts the AICN API's body to ``/api/v0/...`` and checks the envelope
``{code: 0, message: "ok"}`` before handing back ``data``; ``raw`` returns the whole
answer for checking error codes.
"""

from typing import Any

import httpx

TIMEOUT_S = 30.0


class AicnError(AssertionError):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.code = body.get("code")
        self.message = body.get("message")


class AicnClient:
    def __init__(self, base_url: str) -> None:
        self.api = f"{base_url}/api/v0"

    def raw(self, path: str, body: Any = None, *, method: str = "POST") -> httpx.Response:
        return httpx.request(method, f"{self.api}{path}", json=body, timeout=TIMEOUT_S)

    def call(self, path: str, body: Any = None, *, method: str = "POST") -> Any:
        response = self.raw(path, body, method=method)
        answer = response.json()
        if response.status_code != 200 or answer.get("code") != 0:
            raise AicnError(response.status_code, answer)
        assert answer["message"] == "ok"
        return answer.get("data")

    # -- common queries ------------------------------------------------------

    def id(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.raw("/id", method="GET").json()  # bare PeerInfo
        return answer

    def peers(self) -> list[str]:
        peers: list[str] = self.call("/peers", method="GET")
        return peers

    def peer(self, node_id: str) -> dict[str, Any]:
        info: dict[str, Any] = self.call("/peer", {"node_id": node_id})
        return info

    def host_info(self, node_id: str) -> dict[str, Any]:
        info: dict[str, Any] = self.call("/host/info", {"node_id": node_id})
        return info

    # -- AI projects ---------------------------------------------------------

    def register(self, project: str, model: str, api: str, type: int = 0) -> None:
        body = {"project": project, "models": [{"model": model, "api": api, "type": type}]}
        assert self.call("/ai/project/register", body) is None

    def unregister(self, project: str) -> None:
        assert self.call("/ai/project/unregister", {"project": project}) is None

    def project_peer(self, node_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call("/ai/project/peer", {"node_id": node_id})
        return found

    def projects(self) -> list[str]:
        found: list[str] = self.call("/ai/projects/list")
        return found

    def models(self, project: str) -> list[str]:
        found: list[str] = self.call("/ai/projects/models", {"project": project})
        return found

    def project_peers(self, project: str, model: str) -> list[str]:
        found: list[str] = self.call("/ai/projects/peers", {"project": project, "model": model})
        return found

    # -- model calls ---------------------------------------------------------

    @staticmethod
    def chat_body(project: str, model: str) -> dict[str, Any]:
        return {
            "project": project,
            "model": model,
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Hello"},
            ],
        }

    def chat(self, node_id: str, project: str, model: str) -> dict[str, Any]:
        body = {"node_id": node_id, **self.chat_body(project, model), "stream": False}
        data: dict[str, Any] = self.call("/chat/completion", body)
        return data

    def chat_stream(self, node_id: str, project: str, model: str) -> list[str]:
        """The ``data:`` payloads of the SSE stream, in order."""
        body = {"node_id": node_id, **self.chat_body(project, model), "stream": True}
        events = []
        url = f"{self.api}/chat/completion"
        with httpx.stream("POST", url, json=body, timeout=TIMEOUT_S) as response:
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(line[len("data: ") :])
        return events

    def chat_proxy(self, project: str, model: str) -> dict[str, Any]:
        data: dict[str, Any] = self.call("/chat/completion/proxy", self.chat_body(project, model))
        return data

    @staticmethod
    def image_body(project: str, model: str, n: int = 1, ipfs_node: str = "") -> dict[str, Any]:
        return {
            "project": project,
            "model": model,
            "prompt": "a bird flying in the sky",
            "n": n,
            "size": "1024x1024",
            "ipfs_node": ipfs_node,
        }

    def image(self, node_id: str, project: str, model: str, n: int = 1) -> dict[str, Any]:
        body = {"node_id": node_id, **self.image_body(project, model, n)}
        data: dict[str, Any] = self.call("/image/gen", body)
        return data

    def image_proxy(
        self, project: str, model: str, n: int = 1, ipfs_node: str = ""
    ) -> dict[str, Any]:
        body = self.image_body(project, model, n, ipfs_node)
        data: dict[str, Any] = self.call("/image/gen/proxy", body)
        return data
