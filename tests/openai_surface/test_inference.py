"""The official openai SDK against a node that serves no model: answers come from peers."""

import httpx
import pytest
from openai import OpenAI

from computemesh.cli.localmesh import LocalNode
from tests.openai_surface.conftest import CHAT_MODELS, EMBEDDING_MODEL, Mesh

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def client(node: LocalNode) -> OpenAI:
    return OpenAI(base_url=f"{node.url}/v1", api_key="unused", max_retries=0, timeout=60)


def test_health_and_root(mesh: Mesh) -> None:
    assert httpx.get(f"{mesh.entry.url}/health").json() == {"status": "healthy"}
    root = httpx.get(f"{mesh.entry.url}/").json()
    assert root["name"] == "computemesh"
    assert root["status"] == "running"
    assert root["version"]


def test_models_lists_every_online_model_in_the_mesh(mesh: Mesh) -> None:
    models = client(mesh.entry).models.list()
    assert sorted(m.id for m in models) == sorted([*CHAT_MODELS, EMBEDDING_MODEL])
    assert all(m.object == "model" and m.created > 0 for m in models)
    assert client(mesh.entry).models.retrieve("tiny-chat").id == "tiny-chat"


def test_chat_is_served_by_the_peer_that_has_the_model(mesh: Mesh) -> None:
    raw = client(mesh.entry).chat.completions.with_raw_response.create(
        model="tiny-chat", messages=QUESTION, max_tokens=5, temperature=0
    )
    assert raw.headers["x-computing-node"] == mesh.chat.peer_id
    reply = raw.parse()
    assert reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "length"  # the tiny model never stops by itself
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 5
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 5


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_each_model_reaches_its_own_engine_on_the_peer(mesh: Mesh, model: str) -> None:
    # Both run on the same peer behind one service "llm": the model picks the server,
    # and llama.cpp names the model it really ran.
    reply = client(mesh.entry).chat.completions.create(model=model, messages=QUESTION, max_tokens=2)
    assert reply.model == model


def test_a_local_model_is_served_locally(mesh: Mesh) -> None:
    raw = client(mesh.chat).chat.completions.with_raw_response.create(
        model="tiny-chat", messages=QUESTION, max_tokens=2
    )
    assert raw.headers["x-computing-node"] == mesh.chat.peer_id


def test_streaming_chat_has_usage_and_a_truthful_finish_reason(mesh: Mesh) -> None:
    stream = client(mesh.entry).chat.completions.create(
        model="tiny-chat",
        messages=QUESTION,
        max_tokens=4,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert text
    assert reasons[-1] == "length"
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.completion_tokens == 4


def test_stream_is_sse_ending_with_done(mesh: Mesh) -> None:
    body = {"model": "tiny-chat", "messages": QUESTION, "max_tokens": 3, "stream": True}
    with httpx.stream("POST", f"{mesh.entry.url}/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-computing-node"] == mesh.chat.peer_id
        events = [line for line in response.iter_lines() if line]
    assert events[-1] == "data: [DONE]"
    assert all(line.startswith("data: ") for line in events)


def test_completions(mesh: Mesh) -> None:
    reply = client(mesh.entry).completions.create(
        model="tiny-other", prompt="Once upon a time", max_tokens=6, seed=3
    )
    assert reply.choices[0].text
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 6


def test_streaming_completions_end_with_usage(mesh: Mesh) -> None:
    stream = client(mesh.entry).completions.create(
        model="tiny-chat", prompt="hello", max_tokens=3, stream=True
    )
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks if c.choices)
    assert next(c.usage for c in reversed(chunks) if c.usage).completion_tokens == 3


def test_stop_sequence_gives_finish_reason_stop(mesh: Mesh) -> None:
    chat = client(mesh.entry)
    first = chat.completions.create(model="tiny-chat", prompt="hello", max_tokens=8, seed=1)
    text = first.choices[0].text
    stop_at = text[len(text) // 2 :][:1] or text[:1]
    again = chat.completions.create(
        model="tiny-chat", prompt="hello", max_tokens=8, seed=1, stop=[stop_at]
    )
    assert again.choices[0].finish_reason == "stop"


def test_embeddings_come_from_the_embedding_peer(mesh: Mesh) -> None:
    raw = client(mesh.entry).embeddings.with_raw_response.create(
        model=EMBEDDING_MODEL, input=["Paris is the capital of France", "hello"]
    )
    assert raw.headers["x-computing-node"] == mesh.embed.peer_id
    reply = raw.parse()
    assert [d.index for d in reply.data] == [0, 1]
    assert {len(d.embedding) for d in reply.data} == {384}  # MiniLM's width
    assert reply.usage.prompt_tokens > 0
