"""Turn bad request bodies into the OffGrid API's 400 error envelope.

Routers call :func:`parse_request` on the raw body, catch :class:`InvalidRequestError`
and answer 400 with :func:`error_body` of it; nothing here knows about HTTP frameworks.
"""

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from computemesh.errors import InvalidRequestError
from computemesh.protocol.openai import ErrorDetail, ErrorResponse

RequestT = TypeVar("RequestT", bound=BaseModel)

INVALID_REQUEST = "invalid_request_error"
INVALID_JSON = "invalid_json"
INVALID_PARAMETER = "invalid_parameter"


def error_body(message: str, type_: str, code: str | None, param: str | None = None) -> Any:
    """``{"error": {"message", "type", "code", "param"}}`` as a JSON-ready dict."""
    detail = ErrorDetail(message=message, type=type_, code=code, param=param)
    return ErrorResponse(error=detail).model_dump()


def short_error_body(message: str, type_: str, code: str | None) -> Any:
    """The same without ``param``: errors that are not about one field of a request (the
    OpenAI surface's 404, 405 and 5xx, forwarding failures, a cut stream's last event)."""
    body = error_body(message, type_, code)
    del body["error"]["param"]
    return body


def invalid_request_body(error: InvalidRequestError) -> Any:
    return error_body(error.message, INVALID_REQUEST, error.code, error.param)


_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict"})


def _location(loc: tuple[int | str, ...]) -> str:
    # Union members add tags such as "constrained-str" or "list[str]" to the location;
    # keep only the field path the client wrote.
    parts = [str(part) for part in loc if isinstance(part, int) or _is_field(part)]
    return ".".join(parts)


def _is_field(part: str) -> bool:
    return part.isidentifier() and part not in _TYPE_TAGS


def from_validation_error(error: ValidationError) -> InvalidRequestError:
    """One readable message for every problem; ``param`` is the first bad field."""
    problems = error.errors(include_url=False)
    messages = [f"{_location(p['loc']) or 'body'}: {p['msg']}" for p in problems]
    first = _location(problems[0]["loc"]) if problems else None
    return InvalidRequestError("; ".join(messages), INVALID_PARAMETER, first or None)


def parse_request(model: type[RequestT], raw: bytes | str) -> RequestT:
    """Validate a raw JSON body into ``model`` or raise InvalidRequestError."""
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"request body is not valid JSON: {exc}", INVALID_JSON) from exc
    if not isinstance(document, dict):
        raise InvalidRequestError("request body must be a JSON object", INVALID_JSON)
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc
