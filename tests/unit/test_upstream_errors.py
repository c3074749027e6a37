"""A provider's error body, as the OpenAI surface describes it: (message, type, code)."""

import json

import pytest

from computemesh.node.api.openai.upstream_errors import _describe


@pytest.mark.parametrize(
    ("body", "status", "described"),
    [
        (  # llama.cpp repeats the status as a number: nothing a client can match on
            {"error": {"code": 400, "message": "bad", "type": "invalid_request_error"}},
            400,
            ("bad", "invalid_request_error", "upstream_400"),
        ),
        (  # a prompt over the context: OpenAI's own code for it
            {"error": {"code": 400, "message": "too long", "type": "exceed_context_size_error"}},
            400,
            ("too long", "invalid_request_error", "context_length_exceeded"),
        ),
        (  # a code with a meaning is kept
            {"error": {"code": "rate_limited", "message": "slow down", "type": "limits"}},
            429,
            ("slow down", "limits", "rate_limited"),
        ),
        ({"error": "plain words"}, 500, ("plain words", "api_error", "upstream_500")),
        ({"detail": "FastAPI's shape"}, 422, ("FastAPI's shape", "api_error", "upstream_422")),
    ],
)
def test_provider_errors_are_described_in_the_offgrid_format(
    body: dict[str, object], status: int, described: tuple[str, str, str]
) -> None:
    assert _describe(json.dumps(body).encode(), status) == described


def test_a_body_that_is_not_json_is_its_own_message() -> None:
    assert _describe(b"Bad Gateway\n", 502) == ("Bad Gateway", "api_error", "upstream_502")
