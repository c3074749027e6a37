"""One ``error_body`` (message, type, code[, param]) for every OpenAI-shaped error answer."""

import json
from typing import Any

from computemesh.node.api.forward.errors import forward_error_response, unsafe_path_response
from computemesh.node.api.openai.errors import openai_error, wrong_kind
from computemesh.protocol.openai_errors import error_body, short_error_body
from computemesh.routing.errors import AllAttemptsFailed, NoProvider
from computemesh.routing.paths import UnsafePath


def _body(response: object) -> Any:
    return json.loads(getattr(response, "body", b""))


def test_a_400_names_its_parameter_and_other_errors_have_none() -> None:
    assert error_body("m", "invalid_request_error", "invalid_parameter", "top_p") == {
        "error": {
            "message": "m",
            "type": "invalid_request_error",
            "code": "invalid_parameter",
            "param": "top_p",
        }
    }
    assert short_error_body("m", "upstream_error", "stream_interrupted") == {
        "error": {"message": "m", "type": "upstream_error", "code": "stream_interrupted"}
    }


def test_the_node_answers_each_failure_in_that_shape() -> None:
    no_provider = forward_error_response(NoProvider("nobody"))
    assert no_provider.status_code == 503
    assert _body(no_provider) == {
        "error": {"message": "nobody", "type": "mesh_error", "code": "no_provider"}
    }
    failed = forward_error_response(AllAttemptsFailed("llm", ["a: down", "b: down"]))
    assert failed.status_code == 502
    assert _body(failed)["error"]["message"] == (
        "all 2 providers tried for 'llm' failed: a: down; b: down"
    )
    path = _body(unsafe_path_response(UnsafePath("no dots")))
    assert path == {
        "error": {"message": "no dots", "type": "invalid_request_error", "code": "invalid_path"}
    }
    assert "param" not in _body(openai_error(404, "gone", "not_found"))["error"]
    assert _body(wrong_kind("m", "embedding"))["error"]["param"] == "model"
