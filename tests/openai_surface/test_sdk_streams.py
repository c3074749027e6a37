"""What the clients people already have do with streams and ids, through a node's relay.

The official ``openai`` SDK and the usual naive loop (``chunk.choices[0]`` on every
chunk) against a node that serves no model itself, so every answer crosses the mesh.
"""

import json
from typing import Any

import httpx
import pytest
from openai import OpenAI

from tests.openai_surface.conftest import Pair

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def sdk(pair: Pair) -> OpenAI:
    return OpenAI(base_url=f"{pair.entry.url}/v1", api_key="anything", max_retries=0, timeout=60)


def test_the_naive_chat_loop_works_when_usage_was_not_asked_for(pair: Pair) -> None:
    stream = sdk(pair).chat.completions.create(
        model="tiny-chat", messages=QUESTION, max_tokens=4, stream=True
    )
    text = ""
    for chunk in stream:  # what most client code does: no guard on empty choices
        text += chunk.choices[0].delta.content or ""
        assert chunk.usage is None
    assert text


def test_the_naive_completions_loop_works_when_usage_was_not_asked_for(pair: Pair) -> None:
    stream = sdk(pair).completions.create(
        model="tiny-other", prompt="hello", max_tokens=3, stream=True
    )
    assert "".join(chunk.choices[0].text for chunk in stream)


@pytest.mark.parametrize("options", [{"include_usage": False}, {}])
def test_no_usage_chunk_unless_include_usage_is_true(pair: Pair, options: dict[str, Any]) -> None:
    body = {**chat_body(), "stream_options": options}
    events = sse(pair, "/v1/chat/completions", body)
    assert events
    assert all(event["choices"] for event in events)


def test_include_usage_still_ends_with_the_usage_chunk(pair: Pair) -> None:
    stream = sdk(pair).chat.completions.create(
        model="tiny-chat",
        messages=QUESTION,
        max_tokens=4,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(chunk.choices for chunk in chunks[:-1])
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens == 4
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1])


def test_completion_ids_start_with_cmpl(pair: Pair) -> None:
    reply = sdk(pair).completions.create(model="tiny-chat", prompt="hello", max_tokens=2)
    assert reply.id.startswith("cmpl-")
    assert reply.object == "text_completion"
    stream = sdk(pair).completions.create(
        model="tiny-chat", prompt="hello", max_tokens=3, stream=True
    )
    ids = {chunk.id for chunk in stream}
    assert len(ids) == 1
    assert ids.pop().startswith("cmpl-")


def test_chat_ids_keep_chatcmpl(pair: Pair) -> None:
    reply = sdk(pair).chat.completions.create(model="tiny-chat", messages=QUESTION, max_tokens=2)
    assert reply.id.startswith("chatcmpl-")
    events = sse(pair, "/v1/chat/completions", chat_body())
    assert {event["id"][:9] for event in events} == {"chatcmpl-"}


def chat_body() -> dict[str, Any]:
    return {"model": "tiny-chat", "messages": QUESTION, "max_tokens": 3, "stream": True}


def sse(pair: Pair, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON events of a stream, checked to end with ``data: [DONE]``."""
    with httpx.stream("POST", pair.entry.url + path, json=body, timeout=60) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    return [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
