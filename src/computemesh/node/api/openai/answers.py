"""A provider's answer edited on its way to the client, and its ``usage`` read for the meter.

- The node asks every provider for ``stream_options.include_usage``, so a stream ends
  with a usage chunk (``choices: []``); a client that did not ask for it would crash on
  it in the usual ``chunk.choices[0]`` loop, so it is dropped for that client.
- ``/v1/completions`` ids get OpenAI's ``cmpl-`` prefix: llama.cpp's server names them
  ``chatcmpl-`` like chat answers.

Server-sent events are passed on whole, as soon as each is complete; a JSON body is held
only when its id must change (a text completion: small, and sent whole by providers).
Keys are found in the raw bytes: inside a JSON string a quote is escaped, so ``"usage":``
or ``"id":"chatcmpl-`` can only be a key and its value, never a model's text.
"""

import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any

from computemesh.node.api.forward.responses import ForwardedResponse
from computemesh.routing.forwarder import Forwarded

_EVENT_ENDS = (b"\n\n", b"\r\n\r\n")
_CHAT_ID = re.compile(rb'("id"\s*:\s*")chatcmpl-')
_EMPTY_CHOICES = re.compile(rb'"choices"\s*:\s*\[\s*\]')
_USAGE_KEY = re.compile(rb'"usage"\s*:\s*')
# Generated text in an event: a chat delta's or a completion's non-empty string.
_GENERATED = re.compile(rb'"(?:content|text)"\s*:\s*"[^"]')
_DECODER = json.JSONDecoder()
# Where a JSON answer's usage is looked for: its end (llama.cpp and vLLM put it there).
TAIL_BYTES = 16 * 1024


def read_usage(data: bytes) -> dict[str, Any] | None:
    """The last ``"usage": {...}`` object in ``data``, if there is one."""
    for key in reversed(list(_USAGE_KEY.finditer(data))):
        try:
            value, _ = _DECODER.raw_decode(data[key.end() :].decode(errors="replace"))
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


class AnswerEdit(ABC):
    """Edits one answer chunk by chunk; ``usage`` is the last one seen."""

    usage: dict[str, Any] | None = None
    first_token_at: float | None = None
    """``time.monotonic()`` when the first event carrying generated text passed (streams)."""

    @abstractmethod
    def feed(self, chunk: bytes) -> bytes:
        """What of ``chunk`` (with what was held back) goes to the client now."""

    @abstractmethod
    def finish(self) -> bytes:
        """What was still held when the answer ended."""


class EventEdit(AnswerEdit):
    """A server-sent-event stream, edited event by event."""

    def __init__(self, *, completion_ids: bool, drop_usage_chunk: bool) -> None:
        self._buffer = b""
        self._completion_ids = completion_ids
        self._drop_usage_chunk = drop_usage_chunk

    def feed(self, chunk: bytes) -> bytes:
        self._buffer += chunk
        out = []
        while (end := _event_end(self._buffer)) > 0:
            event, self._buffer = self._buffer[:end], self._buffer[end:]
            out.append(self._edit(event))
        return b"".join(out)

    def finish(self) -> bytes:
        rest, self._buffer = self._buffer, b""
        return self._edit(rest) if rest else b""

    def _edit(self, event: bytes) -> bytes:
        if self.first_token_at is None and _GENERATED.search(event):
            self.first_token_at = time.monotonic()
        if b'"usage"' in event and (usage := read_usage(event)) is not None:
            self.usage = usage
            if self._drop_usage_chunk and _EMPTY_CHOICES.search(event):
                return b""
        if self._completion_ids:
            return _CHAT_ID.sub(rb"\1cmpl-", event)
        return event


def _event_end(buffer: bytes) -> int:
    """Where the first complete event of ``buffer`` ends, or -1."""
    ends = [at + len(end) for end in _EVENT_ENDS if (at := buffer.find(end)) >= 0]
    return min(ends, default=-1)


class BodyEdit(AnswerEdit):
    """A JSON answer: passed on as it comes, or held whole when its id must change."""

    def __init__(self, *, completion_ids: bool) -> None:
        self._held: list[bytes] | None = [] if completion_ids else None
        self._tail = b""

    def feed(self, chunk: bytes) -> bytes:
        if self._held is not None:
            self._held.append(chunk)
            return b""
        self._tail = (self._tail + chunk[-TAIL_BYTES:])[-TAIL_BYTES:]
        return chunk

    def finish(self) -> bytes:
        if self._held is None:
            self.usage = read_usage(self._tail)
            return b""
        body, self._held = b"".join(self._held), None
        self.usage = read_usage(body[-TAIL_BYTES:])
        return _CHAT_ID.sub(rb"\1cmpl-", body, count=1)


def answer_edit(
    forwarded: Forwarded, *, completion_ids: bool, asked_for_usage: bool
) -> AnswerEdit | None:
    """The edit this answer needs; None for a compressed body, whose bytes say nothing."""
    headers = dict(forwarded.headers)
    if headers.get("content-encoding", "identity") != "identity":
        return None
    if forwarded.content_type.startswith("text/event-stream"):
        return EventEdit(completion_ids=completion_ids, drop_usage_chunk=not asked_for_usage)
    return BodyEdit(completion_ids=completion_ids)


class EditedResponse(ForwardedResponse):
    """A forwarded answer relayed through an :class:`AnswerEdit`."""

    def __init__(self, forwarded: Forwarded, edit: AnswerEdit) -> None:
        super().__init__(forwarded)
        self._edit = edit

    async def _body(self) -> AsyncIterator[bytes]:
        async for chunk in self._forwarded.chunks():
            if edited := self._edit.feed(chunk):
                yield edited
        if rest := self._edit.finish():
            yield rest
