"""The parts of the operator rules that need no node: origins, and which routes are guarded."""

import pytest
from fastapi import FastAPI

from computemesh.node.api import aicn
from computemesh.node.api.browser import from_another_origin
from computemesh.node.api.localai.router import router as localai_router
from computemesh.node.api.ocf.router import operator_router
from computemesh.node.api.ocf.router import router as ocf_router
from computemesh.node.api.operator import OperatorRoutes


@pytest.mark.parametrize(
    ("headers", "foreign"),
    [
        ({}, False),  # not a browser
        ({"origin": "http://127.0.0.1:8092", "host": "127.0.0.1:8092"}, False),
        ({"origin": "http://localhost", "host": "localhost:80"}, False),  # default port
        ({"origin": "http://LOCALHOST:8092", "host": "localhost:8092"}, False),
        ({"sec-fetch-site": "same-origin"}, False),
        ({"sec-fetch-site": "none"}, False),  # typed into the address bar
        ({"origin": "http://localhost:8092", "host": "127.0.0.1:8092"}, True),
        ({"origin": "http://127.0.0.1:3000", "host": "127.0.0.1:8092"}, True),
        ({"origin": "https://node.example", "host": "node.example"}, False),  # TLS proxy
        ({"origin": "https://node.example", "host": "node.example:80"}, True),
        ({"origin": "ftp://127.0.0.1:8092", "host": "127.0.0.1:8092"}, True),
        ({"origin": "null", "host": "127.0.0.1:8092"}, True),
        ({"origin": "http://127.0.0.1:x", "host": "127.0.0.1:8092"}, True),
        ({"origin": "http://127.0.0.1:8092"}, True),  # no Host to be the same as
        ({"sec-fetch-site": "cross-site"}, True),
        ({"sec-fetch-site": "same-site"}, True),  # another port is another origin
    ],
)
def test_pages_of_another_origin(headers: dict[str, str], foreign: bool) -> None:
    assert from_another_origin(headers) is foreign


def test_the_guarded_routes_are_found_and_no_others() -> None:
    app = FastAPI()
    for router in [ocf_router, operator_router, localai_router, *aicn.routers]:
        app.include_router(router)
    routes = OperatorRoutes(app)
    for method, path in [
        ("POST", "/v1/dnt/_node"),
        ("DELETE", "/v1/dnt/_node"),
        ("GET", "/api/p2p/token"),
        ("POST", "/api/v0/swarm/connect"),
        ("post", "/api/v0/swarm/disconnect"),
    ]:
        assert routes.match(method, path), (method, path)
    for method, path in [
        ("GET", "/v1/dnt/table"),
        ("GET", "/v1/dnt/_node"),
        ("GET", "/api/p2p"),
        ("POST", "/api/v0/swarm/peers"),
        ("POST", "/v1/dnt/_node/x"),
    ]:
        assert not routes.match(method, path), (method, path)
