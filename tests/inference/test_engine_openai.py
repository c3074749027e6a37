"""The official openai SDK against a real llama.cpp engine serving the tiny model."""

import httpx
import pytest
from openai import OpenAI

from computemesh.inference import Engine, ModelKind, Provider
from tests.fixtures.engines import TINY_CHAT_ID, TINY_EMBEDDING_ID

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def _provider(engine: Engine, model_id: str) -> Provider:
    return next(p for p in engine.providers if p.model_id == model_id)


@pytest.fixture
def chat(tiny_engine: Engine) -> OpenAI:
    url = _provider(tiny_engine, TINY_CHAT_ID).openai_url
    return OpenAI(base_url=url, api_key="unused", max_retries=0)


def test_providers_are_loopback_urls_with_model_ids(tiny_engine: Engine) -> None:
    kinds = {p.model_id: p.kind for p in tiny_engine.providers}
    assert kinds == {TINY_CHAT_ID: ModelKind.CHAT, TINY_EMBEDDING_ID: ModelKind.EMBEDDING}
    for provider in tiny_engine.providers:
        assert provider.base_url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{provider.base_url}/health").json() == {"status": "ok"}


def test_models_lists_the_served_id(chat: OpenAI) -> None:
    assert [m.id for m in chat.models.list()] == [TINY_CHAT_ID]


def test_chat_fills_usage_and_reports_length(chat: OpenAI) -> None:
    reply = chat.chat.completions.create(
        model=TINY_CHAT_ID,
        messages=QUESTION,
        max_tokens=5,
        temperature=0,  # type: ignore[arg-type]
    )
    choice = reply.choices[0]
    assert reply.model == TINY_CHAT_ID
    assert choice.message.role == "assistant"
    assert choice.message.content
    # The tiny model never emits end-of-sequence, so it always runs out of tokens.
    assert choice.finish_reason == "length"
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 5
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 5


def test_chat_is_deterministic_with_a_seed(chat: OpenAI) -> None:
    def answer() -> str | None:
        reply = chat.chat.completions.create(
            model=TINY_CHAT_ID,
            messages=QUESTION,
            max_tokens=8,
            seed=7,  # type: ignore[arg-type]
        )
        return reply.choices[0].message.content

    assert answer() == answer()


def test_streaming_chat_ends_with_usage(chat: OpenAI) -> None:
    stream = chat.chat.completions.create(
        model=TINY_CHAT_ID,
        messages=QUESTION,  # type: ignore[arg-type]
        max_tokens=4,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert text
    assert reasons[-1] == "length"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 4


def test_completions(chat: OpenAI) -> None:
    reply = chat.completions.create(model=TINY_CHAT_ID, prompt="Once upon a time", max_tokens=6)
    assert reply.choices[0].text
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 6


def test_stop_sequence_ends_with_stop(chat: OpenAI) -> None:
    first = chat.completions.create(model=TINY_CHAT_ID, prompt="hello", max_tokens=8, seed=1)
    text = first.choices[0].text
    stop_at = text[len(text) // 2 :][:1] or text[:1]
    again = chat.completions.create(
        model=TINY_CHAT_ID, prompt="hello", max_tokens=8, seed=1, stop=[stop_at]
    )
    assert again.choices[0].finish_reason == "stop"
    assert stop_at not in again.choices[0].text


def test_embeddings(tiny_engine: Engine) -> None:
    url = _provider(tiny_engine, TINY_EMBEDDING_ID).openai_url
    client = OpenAI(base_url=url, api_key="unused", max_retries=0)
    reply = client.embeddings.create(model=TINY_EMBEDDING_ID, input=["hello", "world"])
    assert [d.index for d in reply.data] == [0, 1]
    assert {len(d.embedding) for d in reply.data} == {64}  # the tiny model's width
    assert reply.usage.prompt_tokens > 0
