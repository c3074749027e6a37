"""Token counts: the node's own ``usage`` when it sends one, an estimate when it does not.

The estimate is about four characters per token for text and one token per streamed
content chunk (what llama.cpp and vLLM send), so a node that omits usage is still
metered, if less exactly.
"""

import json
import math
from dataclasses import dataclass
from typing import Any

CHARS_PER_TOKEN = 4


@dataclass(frozen=True, slots=True)
class TokenCount:
    prompt: int
    completion: int
    reported: bool  # True when the node said so itself

    @property
    def total(self) -> int:
        return self.prompt + self.completion


def from_usage(usage: Any) -> TokenCount | None:
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not isinstance(prompt, int):
        return None
    return TokenCount(prompt, completion if isinstance(completion, int) else 0, reported=True)


def estimate_text(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_prompt(body: dict[str, Any]) -> int:
    """Prompt tokens of a chat, completion or embedding request, estimated from its text."""
    parts: list[str] = []
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            content = message.get("content")
            parts.append(content if isinstance(content, str) else json.dumps(content))
    for key in ("prompt", "input"):
        value = body.get(key)
        parts.append(value if isinstance(value, str) else json.dumps(value) if value else "")
    return estimate_text("".join(parts))


def from_response(body: bytes, request: dict[str, Any]) -> TokenCount:
    """Counts for a complete (non-streamed) JSON answer."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        reported = from_usage(answer.get("usage"))
        if reported is not None:
            return reported
    return TokenCount(estimate_prompt(request), _estimate_completion(answer), reported=False)


def _estimate_completion(answer: Any) -> int:
    if not isinstance(answer, dict):
        return 0
    text = ""
    for choice in answer.get("choices") or []:
        if isinstance(choice, dict):
            message = choice.get("message") or {}
            text += str(message.get("content") or "") if isinstance(message, dict) else ""
            text += str(choice.get("text") or "")
    return estimate_text(text)
