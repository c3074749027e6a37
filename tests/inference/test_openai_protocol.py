"""Every bad input of issue 4 item 3 becomes the OffGrid API's 400 envelope; good ones pass."""

import json
from typing import Any

import pytest
from pydantic import BaseModel

from computemesh.errors import InvalidRequestError
from computemesh.protocol.openai import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    ErrorResponse,
    ModelList,
)
from computemesh.protocol.openai_errors import invalid_request_body, parse_request

USER = [{"role": "user", "content": "hi"}]


def _chat(**fields: Any) -> str:
    return json.dumps({"model": "m", "messages": USER, **fields})


def _error(model: type[BaseModel], raw: str | bytes) -> dict[str, Any]:
    with pytest.raises(InvalidRequestError) as caught:
        parse_request(model, raw)
    body: dict[str, Any] = invalid_request_body(caught.value)
    ErrorResponse.model_validate(body)  # the envelope itself is well formed
    assert body["error"]["type"] == "invalid_request_error"
    return body["error"]


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"temperature": 2.01}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_p": -1}, "top_p"),
        ({"frequency_penalty": 2.5}, "frequency_penalty"),
        ({"presence_penalty": -2.5}, "presence_penalty"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"stream": "sometimes"}, "stream"),
        ({"seed": "x"}, "seed"),
        ({"stream_options": {"include_usage": "maybe"}}, "stream_options.include_usage"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": "user"}]}, "messages.0.content"),
        ({"messages": [*USER, {"role": "tool", "content": None}]}, "messages.1.content"),
        ({"model": ""}, "model"),
    ],
)
def test_out_of_range_chat_parameters(fields: dict[str, Any], param: str) -> None:
    error = _error(ChatCompletionRequest, _chat(**fields))
    assert error["code"] == "invalid_parameter"
    assert error["param"] == param
    assert param.split(".")[0] in error["message"]


def test_missing_messages_and_model() -> None:
    error = _error(ChatCompletionRequest, "{}")
    assert "model" in error["message"]
    assert "messages" in error["message"]


@pytest.mark.parametrize("raw", [b"{bad", b"", b"\xff\xfe", "[1, 2]", '"text"'])
def test_malformed_json(raw: str | bytes) -> None:
    assert _error(ChatCompletionRequest, raw)["code"] == "invalid_json"


@pytest.mark.parametrize(
    "fields", [{"prompt": ""}, {"prompt": []}, {"temperature": 9}, {"max_tokens": -3}]
)
def test_bad_completion_requests(fields: dict[str, Any]) -> None:
    raw = json.dumps({"model": "m", "prompt": "Once", **fields})
    assert _error(CompletionRequest, raw)["code"] == "invalid_parameter"


@pytest.mark.parametrize("value", ["", []])
def test_bad_embedding_input(value: Any) -> None:
    raw = json.dumps({"model": "m", "input": value})
    assert _error(EmbeddingRequest, raw)["param"] == "input"


def test_every_offgrid_parameter_at_its_bounds_is_accepted() -> None:
    raw = _chat(
        temperature=2,
        top_p=0,
        frequency_penalty=-2,
        presence_penalty=2,
        max_tokens=1,
        stop=["a", "b", "c", "d"],
        stream=True,
        stream_options={"include_usage": True},
        seed=42,
        user="kept",
    )
    request = parse_request(ChatCompletionRequest, raw)
    assert request.stream_options is not None
    assert request.stream_options.include_usage
    # Fields we do not model travel on to the engine untouched.
    assert request.model_dump(exclude_none=True)["user"] == "kept"


def test_stop_may_be_a_single_string() -> None:
    raw = json.dumps({"model": "m", "prompt": ["a", "b"], "stop": "\n"})
    assert parse_request(CompletionRequest, raw).stop == "\n"


def test_model_list_shape() -> None:
    listing = ModelList.model_validate({"data": [{"id": "SmolLM2-135M-Instruct"}]})
    assert listing.model_dump()["data"][0] == {
        "id": "SmolLM2-135M-Instruct",
        "object": "model",
        "created": 0,
        "owned_by": "computemesh",
    }


def test_an_assistant_turn_may_come_without_content() -> None:
    turns = [*USER, {"role": "assistant", "tool_calls": [{"id": "1"}]}, *USER]
    request = parse_request(ChatCompletionRequest, _chat(messages=turns))
    assert request.messages[1].content is None
