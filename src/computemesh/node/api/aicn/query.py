"""The parameters of AICN's GET calls: the query string, or a JSON body as v0.1.8 sent.

AICN v0.2 reads ``?project=…&model=…&number=…``; v0.1.8 and v0.1.9 made the same
routes GET but still read a JSON body. Both reach the same checks, so a bad value is
the AICN API's 1001 in either form.
"""

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from computemesh.node.api.aicn.envelope import AicnError
from computemesh.protocol.aicn import Code

Params = TypeVar("Params", bound=BaseModel)


async def get_params(request: Request, model: type[Params]) -> Params:
    """``model`` from the query string, else from a JSON body when one was sent."""
    values: object = dict(request.query_params)
    if not values:
        raw = await request.body()
        if raw.strip():
            try:
                values = json.loads(raw)
            except ValueError as error:
                raise AicnError(Code.PARSE, "the request body is not valid JSON") from error
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in problem['loc']) or 'query'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise AicnError(Code.PARAMETER, f"invalid parameters: {problems}") from error


def documented(*names: str) -> dict[str, Any]:
    """OpenAPI's description of the query a GET route reads with ``get_params``
    (``number`` optional, the names required)."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": name != "number",
                "schema": {"type": "integer", "minimum": 0}
                if name == "number"
                else {"type": "string"},
            }
            for name in names
        ]
    }
