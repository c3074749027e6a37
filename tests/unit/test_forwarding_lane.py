"""The forwarding lane answers its routes itself and hands every other request to FastAPI."""

from typing import Any, cast

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from computemesh.node.api.forward.lane import ForwardingLane
from computemesh.node.api.state import NodeState
from computemesh.routing.errors import NoProvider
from computemesh.routing.paths import UnsafePath, safe_path

STATE = cast(NodeState, object())


class Behind:
    """Stands for the FastAPI app: records what reached it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])
        await JSONResponse({"behind": True}, status_code=404)(scope, receive, send)


async def echo(name: str, request: Request, state: NodeState) -> Response:
    assert state is STATE
    tail = safe_path(b"/" + request.scope["raw_path"].split(b"/", 4)[4])
    return JSONResponse({"name": name, "tail": tail, "body": (await request.body()).decode()})


async def no_provider(name: str, request: Request, state: NodeState) -> Response:
    raise NoProvider(f"no online provider offers service {name!r}")


async def unsafe(name: str, request: Request, state: NodeState) -> Response:
    raise UnsafePath("that path leaves the service")


async def bug(name: str, request: Request, state: NodeState) -> Response:
    raise KeyError("oops")


def client(behind: Behind) -> httpx.AsyncClient:
    routes = {"service": echo, "down": no_provider, "tricky": unsafe, "buggy": bug}
    lane = ForwardingLane(behind, STATE, routes)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=lane), base_url="http://node")


async def test_its_routes_never_reach_the_app_behind() -> None:
    behind = Behind()
    async with client(behind) as http:
        answer = await http.post("/v1/service/llm/v1/chat/completions?x=1", content=b"hi")
        assert answer.json() == {"name": "llm", "tail": "/v1/chat/completions", "body": "hi"}
        assert (await http.patch("/v1/service/llm/")).json()["tail"] == "/"
    assert behind.paths == []


async def test_other_paths_and_methods_go_to_the_app_behind() -> None:
    behind = Behind()
    async with client(behind) as http:
        for method, path in [
            ("GET", "/v1/dnt/table"),
            ("GET", "/v1/service/llm"),  # no slash after the name: not the route
            ("GET", "/v1/service//x"),  # no name
            ("DELETE", "/v1/service/llm/x"),  # not a forwarding method
            ("GET", "/v2/service/llm/x"),
            ("GET", "/v1/unknown/llm/x"),
        ]:
            assert (await http.request(method, path)).json() == {"behind": True}
    assert len(behind.paths) == 6


async def test_errors_get_the_same_answers_as_from_fastapi() -> None:
    async with client(Behind()) as http:
        down = await http.get("/v1/down/llm/x")
        assert down.status_code == 503
        assert down.json()["error"]["code"] == "no_provider"
        tricky = await http.get("/v1/tricky/llm/x")
        assert tricky.status_code == 400
        assert tricky.json()["error"]["code"] == "invalid_path"
        buggy = await http.get("/v1/buggy/llm/x")
        assert buggy.status_code == 500
        assert buggy.json() == {"error": "internal error (KeyError)"}
