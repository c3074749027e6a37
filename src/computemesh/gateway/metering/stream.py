"""Read token usage off a server-sent-event stream as it passes through, without holding it.

The gateway asks the node for usage in the last chunk (``stream_options.include_usage``).
When the client did not ask for that chunk itself it is dropped here, so the client
sees exactly the stream it asked for. Events are passed on whole, as soon as complete.

A stream that breaks off ends with an error event in the OpenAI shape, as a node ends
its own cut streams (``stream_interrupted``): either the node's, passed on, or one made
here when the connection to the node broke. Never a clean end that looks complete.
"""

import json
from typing import Any

from computemesh.gateway.metering.tokens import TokenCount, from_usage
from computemesh.protocol.openai_errors import error_body

EVENT_END = b"\n\n"
STREAM_INTERRUPTED = "stream_interrupted"
UPSTREAM_ERROR = "upstream_error"


class StreamMeter:
    def __init__(self, estimated_prompt: int, drop_usage_chunk: bool) -> None:
        self._buffer = b""
        self._estimated_prompt = estimated_prompt
        self._drop_usage_chunk = drop_usage_chunk
        self._usage: TokenCount | None = None
        self._content_chunks = 0
        self.interrupted = False  # an error event came (or was made): the answer is cut

    def feed(self, chunk: bytes) -> bytes:
        """The complete events in ``chunk`` (plus what was buffered) that the client gets."""
        self._buffer += chunk
        out: list[bytes] = []
        while (end := self._buffer.find(EVENT_END)) >= 0:
            event, self._buffer = self._buffer[: end + 2], self._buffer[end + 2 :]
            if self._inspect(event):
                out.append(event)
        return b"".join(out)

    def finish(self) -> bytes:
        """Whatever was left after the last complete event."""
        rest, self._buffer = self._buffer, b""
        if rest and not self._inspect(rest):
            return b""
        return rest

    def cut(self, problem: str) -> bytes:
        """The error event that ends a stream whose connection broke (any half event dropped)."""
        self._buffer = b""
        self.interrupted = True
        event = error_body(f"the stream broke off: {problem}", UPSTREAM_ERROR, STREAM_INTERRUPTED)
        return f"data: {json.dumps(event)}\n\n".encode()

    @property
    def tokens(self) -> TokenCount:
        if self._usage is not None:
            return self._usage
        return TokenCount(self._estimated_prompt, self._content_chunks, reported=False)

    def _inspect(self, event: bytes) -> bool:
        """Count the event; False if it is the usage chunk the client did not ask for."""
        for line in event.splitlines():
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == b"[DONE]" or not payload:
                continue
            try:
                data = json.loads(payload)
            except ValueError:
                continue
            if isinstance(data, dict):
                return self._count(data)
        return True

    def _count(self, data: dict[str, Any]) -> bool:
        if "error" in data:
            self.interrupted = True
            return True
        choices = data.get("choices")
        usage = from_usage(data.get("usage"))
        if usage is not None:
            self._usage = usage
        if any(_has_content(choice) for choice in choices or []):
            self._content_chunks += 1
        return not (self._drop_usage_chunk and usage is not None and not choices)


def _has_content(choice: Any) -> bool:
    if not isinstance(choice, dict):
        return False
    delta = choice.get("delta")
    return bool((isinstance(delta, dict) and delta.get("content")) or choice.get("text"))
