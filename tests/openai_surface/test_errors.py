"""Every bad input gets the OffGrid API's status and ``{"error": {"message", "type", "code"}}``."""

from typing import Any

import httpx
import openai
import pytest

from tests.openai_surface.conftest import GHOST_MODEL, Mesh

CHAT = {"model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
COMPLETION = {"model": "tiny-chat", "prompt": "hi", "max_tokens": 2}


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["type"], str)
    assert isinstance(error["code"], str)
    return error


BAD_CHAT = [
    pytest.param({**CHAT, "temperature": 2.5}, "temperature", id="temperature-high"),
    pytest.param({**CHAT, "temperature": -0.1}, "temperature", id="temperature-low"),
    pytest.param({**CHAT, "top_p": 1.5}, "top_p", id="top_p"),
    pytest.param({**CHAT, "frequency_penalty": 2.1}, "frequency_penalty", id="frequency"),
    pytest.param({**CHAT, "presence_penalty": -2.1}, "presence_penalty", id="presence"),
    pytest.param({**CHAT, "stop": ["a", "b", "c", "d", "e"]}, "stop", id="five-stops"),
    pytest.param({**CHAT, "max_tokens": 0}, "max_tokens", id="max_tokens"),
    pytest.param({**CHAT, "messages": []}, "messages", id="empty-messages"),
    pytest.param({**CHAT, "messages": [{"role": "wizard", "content": "x"}]}, "messages", id="role"),
    pytest.param({k: v for k, v in CHAT.items() if k != "model"}, "model", id="no-model"),
    pytest.param({"model": "tiny-chat"}, "messages", id="no-messages"),
    pytest.param({**CHAT, "stream": "yes please"}, "stream", id="stream-type"),
]


@pytest.mark.parametrize(("body", "param"), BAD_CHAT)
def test_out_of_range_chat_parameters_are_400(mesh: Mesh, body: dict[str, Any], param: str) -> None:
    response = httpx.post(f"{mesh.entry.url}/v1/chat/completions", json=body)
    error = error_of(response, 400)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_parameter"
    assert error["param"].startswith(param)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/completions", {**COMPLETION, "prompt": ""}),
        ("/v1/completions", {**COMPLETION, "temperature": 9}),
        ("/v1/embeddings", {"model": "all-MiniLM-L6-v2", "input": []}),
    ],
)
def test_other_endpoints_validate_too(mesh: Mesh, path: str, body: dict[str, Any]) -> None:
    assert error_of(httpx.post(mesh.entry.url + path, json=body), 400)["code"]


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b"\xff\xfe"])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"])
def test_malformed_json_is_400(mesh: Mesh, path: str, raw: bytes) -> None:
    response = httpx.post(mesh.entry.url + path, content=raw)
    assert error_of(response, 400)["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", {**CHAT, "model": "no-such-model"}),
        ("/v1/completions", {**COMPLETION, "model": "no-such-model"}),
        ("/v1/embeddings", {"model": "no-such-model", "input": "x"}),
    ],
)
def test_unknown_model_is_404_model_not_found(mesh: Mesh, path: str, body: dict[str, Any]) -> None:
    error = error_of(httpx.post(mesh.entry.url + path, json=body), 404)
    assert error == {
        "message": "Model not found: no-such-model",
        "type": "api_error",
        "code": "model_not_found",
    }


@pytest.mark.parametrize(
    ("path", "body", "asked"),
    [
        ("/v1/embeddings", {"model": "tiny-chat", "input": "x"}, "embeddings"),
        ("/v1/chat/completions", {**CHAT, "model": "all-MiniLM-L6-v2"}, "chat"),
        ("/v1/completions", {**COMPLETION, "model": "all-MiniLM-L6-v2"}, "chat"),
    ],
)
def test_a_model_asked_for_what_it_does_not_do_is_400(
    mesh: Mesh, path: str, body: dict[str, Any], asked: str
) -> None:
    error = error_of(httpx.post(mesh.entry.url + path, json=body), 400)
    assert error["code"] == "model_not_supported"
    assert error["param"] == "model"
    assert asked in error["message"]


def test_the_sdk_raises_not_found_for_an_unknown_model(mesh: Mesh) -> None:
    sdk = openai.OpenAI(base_url=f"{mesh.entry.url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.NotFoundError) as raised:
        sdk.chat.completions.create(model="no-such-model", messages=CHAT["messages"])
    assert raised.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("no-such-model")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/chat/completions"),
        ("PUT", "/v1/completions"),
        ("DELETE", "/v1/embeddings"),
        ("POST", "/v1/models"),
        ("POST", "/health"),
    ],
)
def test_wrong_method_is_405(mesh: Mesh, method: str, path: str) -> None:
    response = httpx.request(method, mesh.entry.url + path)
    assert error_of(response, 405)["code"] == "method_not_allowed"


def test_known_model_without_an_online_provider_is_503(mesh: Mesh) -> None:
    response = httpx.post(
        f"{mesh.entry.url}/v1/chat/completions", json={**CHAT, "model": GHOST_MODEL}
    )
    assert error_of(response, 503)["code"] == "no_provider"


def test_ocf_paths_keep_their_own_error_shape(mesh: Mesh) -> None:
    response = httpx.get(f"{mesh.entry.url}/v1/dnt/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}


def test_a_provider_error_is_reshaped(mesh: Mesh) -> None:
    # llama.cpp refuses a prompt longer than a slot's context with its own error shape.
    long = {**CHAT, "messages": [{"role": "user", "content": "hello " * 2000}]}
    response = httpx.post(f"{mesh.entry.url}/v1/chat/completions", json=long, timeout=60)
    error = error_of(response, 400)
    assert "context" in error["message"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "context_length_exceeded")
    assert response.headers["x-computing-node"] == mesh.chat.peer_id
