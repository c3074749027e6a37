"""The demo's client side: plain HTTP to a node's OpenAI surface, timed."""

import json
import math
import time
from dataclasses import dataclass
from typing import Any

import httpx

TIMEOUT_S = 120.0
SENTENCES = ("Paris is the capital of France.", "The capital of France is Paris.", "I like tea.")


@dataclass(frozen=True)
class Answer:
    text: str
    node: str
    tokens: int
    seconds: float
    first_token_s: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Embedded:
    summary: str
    node: str


def models(url: str) -> set[str]:
    try:
        listing = httpx.get(f"{url}/v1/models", timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return set()
    return {entry["id"] for entry in listing.get("data", [])}


def chat(url: str, model: str, question: str) -> Answer:
    """Stream one chat completion; time the first token and the whole answer."""
    body = {
        "model": model,
        "messages": [{"role": "user", "content": question}],
        "temperature": 0,
        "max_tokens": 64,
        "stream": True,
        "stream_options": {"include_usage": True},  # the token count it prints
    }
    started = time.perf_counter()
    first: float | None = None
    parts: list[str] = []
    tokens = 0
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=TIMEOUT_S) as reply:
        reply.raise_for_status()
        node = reply.headers.get("x-computing-node", "?")
        for event in _events(reply):
            for choice in event.get("choices", []):
                text = choice.get("delta", {}).get("content") or ""
                if text and first is None:
                    first = time.perf_counter() - started
                parts.append(text)
            tokens = (event.get("usage") or {}).get("completion_tokens", tokens)
    elapsed = time.perf_counter() - started
    return Answer("".join(parts), node, tokens, elapsed, first or elapsed)


def _events(reply: httpx.Response) -> list[dict[str, Any]]:
    found = []
    for line in reply.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            found.append(json.loads(line[len("data: ") :]))
    return found


def embed(url: str, model: str) -> Embedded:
    reply = httpx.post(
        f"{url}/v1/embeddings", json={"model": model, "input": list(SENTENCES)}, timeout=TIMEOUT_S
    )
    reply.raise_for_status()
    vectors = [item["embedding"] for item in reply.json()["data"]]
    close, far = _cosine(vectors[0], vectors[1]), _cosine(vectors[0], vectors[2])
    summary = (
        f"{len(vectors)} vectors of {len(vectors[0])} dimensions; cosine "
        f"{SENTENCES[0]!r} ~ {SENTENCES[1]!r} = {close:.2f}, ~ {SENTENCES[2]!r} = {far:.2f}"
    )
    return Embedded(summary, reply.headers.get("x-computing-node", "?"))


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))
