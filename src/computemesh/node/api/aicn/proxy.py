"""The ``/proxy`` calls: our routing picks a node for a project's model, retrying others.

The dispatcher's failover chooses and retries the nodes (identity groups, power of two
choices over in-flight requests and latency, cool-downs), as for any service. What is
AICN's own is the check of each answer the AICN API describes: a node's answer counts only
if it is a correct result (HTTP 200 and code 0), so a node whose model errs is passed
over as well as one that cannot be reached. A stream counts once it started.
"""

import json
from collections.abc import Awaitable, Callable

from fastapi import Response

from computemesh.ids import PeerId
from computemesh.node.api.aicn.envelope import AicnError, as_aicn_error
from computemesh.node.api.aicn.relay import call_peer, relay
from computemesh.node.api.state import NodeState
from computemesh.protocol.aicn import Code, ModelType
from computemesh.registry.projects import service_name
from computemesh.routing.candidates import Candidate
from computemesh.routing.errors import AllAttemptsFailed, BadAnswer, ForwardError, NoProvider

ServeHere = Callable[[], Awaitable[Response]]
BodyFor = Callable[[PeerId], bytes]


async def proxy(
    state: NodeState,
    wanted: tuple[str, str, ModelType],
    serve_here: ServeHere,
    path: str,
    body_for: BodyFor,
    until: float,
) -> Response:
    """The first correct answer among up to ``forward_attempts`` nodes running the model."""
    project, model, kind = wanted
    fields = {"project": project, "model": model, "type": str(int(kind))}

    async def attempt(choice: Candidate) -> Response:
        return await _checked(state, choice, serve_here, path, body_for, until)

    try:
        return await state.dispatcher.failover(service_name(project, model), fields, attempt)
    except NoProvider:
        raise AicnError(
            Code.NO_PROVIDER, f"no online node runs model {model!r} of project {project!r}"
        ) from None
    except AllAttemptsFailed as error:
        failures = error.failures
        message = f"all {len(failures)} nodes tried failed: " + "; ".join(failures)
        raise AicnError(Code.NO_PROVIDER, message) from error


async def _checked(
    state: NodeState,
    choice: Candidate,
    serve_here: ServeHere,
    path: str,
    body_for: BodyFor,
    until: float,
) -> Response:
    """The node's answer if it is a correct result; else ``BadAnswer`` saying why."""
    try:
        answer = await _ask(state, choice, serve_here, path, body_for, until)
    except (AicnError, ForwardError) as error:
        failure = as_aicn_error(error)
        if failure.code == Code.TIMEOUT:
            raise failure from error  # the request's own deadline passed: no time to retry
        raise BadAnswer(f"{failure} (code {int(failure.code)})") from error
    problem = _problem(answer)
    if problem:
        raise BadAnswer(problem)
    return answer


async def _ask(
    state: NodeState,
    choice: Candidate,
    serve_here: ServeHere,
    path: str,
    body_for: BodyFor,
    until: float,
) -> Response:
    if choice.is_local:
        return await serve_here()
    forwarded = await call_peer(state, choice.peer, path, body_for(choice.peer), until)
    return await relay(forwarded, until)


def _problem(answer: Response) -> str:
    """Empty for a correct result; else what was wrong with it."""
    body = getattr(answer, "body", None)
    if answer.status_code == 200 and body is None:
        return ""  # a stream that started
    try:
        parsed = json.loads(body) if body is not None else None
    except ValueError:
        parsed = None
    if answer.status_code == 200 and isinstance(parsed, dict) and parsed.get("code") == 0:
        return ""
    message = parsed.get("message") if isinstance(parsed, dict) else None
    return f"HTTP {answer.status_code}: {message or 'not an AICN answer'}"
