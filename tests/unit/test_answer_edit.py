"""The OpenAI surface's answer edits, fed the bytes llama.cpp sends, split anywhere."""

import json

import pytest

from computemesh.node.api.openai.answers import BodyEdit, EventEdit, read_usage
from computemesh.routing.usage import UsageMeter

USAGE = {"completion_tokens": 2, "prompt_tokens": 4, "total_tokens": 6}


def event(data: dict[str, object], end: str = "\n\n") -> bytes:
    return f"data: {json.dumps(data, separators=(',', ':'))}{end}".encode()


def chat_stream(end: str = "\n\n", *, usage: bool = True) -> bytes:
    chunk = {"id": "chatcmpl-a", "object": "chat.completion.chunk"}
    return b"".join(
        [
            event({**chunk, "choices": [{"index": 0, "delta": {"content": "Pa"}}]}, end),
            event({**chunk, "choices": [{"index": 0, "delta": {"content": "ris"}}]}, end),
            event({**chunk, "choices": [], "usage": USAGE}, end) if usage else b"",
            f"data: [DONE]{end}".encode(),
        ]
    )


def fed(edit: EventEdit | BodyEdit, data: bytes, size: int) -> bytes:
    out = [edit.feed(data[at : at + size]) for at in range(0, len(data), size)]
    return b"".join(out) + edit.finish()


@pytest.mark.parametrize("size", [1, 7, 64, 10_000])
@pytest.mark.parametrize("end", ["\n\n", "\r\n\r\n"])
def test_the_unasked_usage_chunk_is_dropped_and_read(size: int, end: str) -> None:
    edit = EventEdit(completion_ids=False, drop_usage_chunk=True)
    assert fed(edit, chat_stream(end), size) == chat_stream(end, usage=False)
    assert edit.usage == USAGE


def test_an_asked_for_usage_chunk_is_kept_byte_for_byte() -> None:
    edit = EventEdit(completion_ids=False, drop_usage_chunk=False)
    assert fed(edit, chat_stream(), 5) == chat_stream()
    assert edit.usage == USAGE


def test_usage_inside_a_last_choice_chunk_is_never_dropped() -> None:
    # llama.cpp's text completion streams carry usage in the chunk with finish_reason.
    last = event({"id": "chatcmpl-b", "choices": [{"text": ""}], "usage": USAGE})
    edit = EventEdit(completion_ids=True, drop_usage_chunk=True)
    assert fed(edit, last, 3) == last.replace(b'"id":"chatcmpl-b"', b'"id":"cmpl-b"')
    assert edit.usage == USAGE


def test_model_text_that_looks_like_a_key_is_left_alone() -> None:
    text = '"id":"chatcmpl-x" and "usage": {"prompt_tokens": 99}'
    data = event({"id": "chatcmpl-c", "choices": [{"text": text}]})
    edit = EventEdit(completion_ids=True, drop_usage_chunk=True)
    out = fed(edit, data, 4)
    assert json.loads(out[len(b"data: ") :])["choices"][0]["text"] == text
    assert json.loads(out[len(b"data: ") :])["id"] == "cmpl-c"
    assert edit.usage is None


def test_a_completion_body_gets_a_cmpl_id_and_its_usage_read() -> None:
    body = json.dumps({"choices": [{"text": "x"}], "usage": USAGE, "id": "chatcmpl-d"}).encode()
    edit = BodyEdit(completion_ids=True)
    assert json.loads(fed(edit, body, 9))["id"] == "cmpl-d"
    assert edit.usage == USAGE


def test_other_bodies_pass_through_as_they_come() -> None:
    body = json.dumps({"id": "chatcmpl-e", "data": [0.5] * 5000, "usage": USAGE}).encode()
    edit = BodyEdit(completion_ids=False)
    assert edit.feed(body[:100]) == body[:100]
    assert edit.feed(body[100:]) == body[100:]
    assert edit.finish() == b""
    assert edit.usage == USAGE


def test_read_usage_skips_what_is_not_an_object() -> None:
    assert read_usage(b'{"usage": null}') is None
    assert read_usage(b'{"usage": {"prompt_tokens": 1}, "x": {"usage": 3}}') == {"prompt_tokens": 1}


def test_the_meter_counts_answers_and_only_real_counts() -> None:
    meter = UsageMeter()
    meter.record("m", USAGE)
    meter.record("m", None)
    meter.record("m", {"prompt_tokens": "7", "completion_tokens": True})
    assert meter.models["m"].requests == 3
    assert meter.total_tokens == 6
