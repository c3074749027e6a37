"""The ``/proxy`` calls: our routing picks a node for a project's model, retrying others.

Candidates and the choice come from the routing core (identity groups, power of two
choices over in-flight requests and latency, cool-downs), as for any service. What is
AICN's own is the retry rule the seed describes: a node's answer counts only if it is
a correct result (HTTP 200 and code 0), so a node whose model errs is passed over as
well as one that cannot be reached. A stream counts once it started.
"""

import json
import time
from collections.abc import Awaitable, Callable

from fastapi import Response

from computemesh.ids import PeerId
from computemesh.node.api.aicn.envelope import AicnError, as_aicn_error
from computemesh.node.api.aicn.relay import call_peer, relay
from computemesh.node.api.state import NodeState
from computemesh.protocol.aicn import Code, ModelType
from computemesh.registry.projects import service_name
from computemesh.routing.candidates import Candidate, find_candidates
from computemesh.routing.errors import ForwardError
from computemesh.routing.strategy import choose

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
    service = service_name(project, model)
    rows = state.dispatcher.providers.matching(service, fields, time.time())
    candidates = find_candidates(rows, service, fields)
    if not candidates:
        raise AicnError(
            Code.NO_PROVIDER, f"no online node runs model {model!r} of project {project!r}"
        )
    failures: list[str] = []
    tried: set[PeerId] = set()
    while len(tried) < min(state.dispatcher.max_attempts, len(candidates)):
        choice = _pick(state, [c for c in candidates if c.peer not in tried])
        tried.add(choice.peer)
        answer = await _attempt(state, choice, serve_here, path, body_for, until, failures)
        if answer is not None:
            return answer
    raise AicnError(
        Code.NO_PROVIDER, f"all {len(failures)} nodes tried failed: " + "; ".join(failures)
    )


def _pick(state: NodeState, remaining: list[Candidate]) -> Candidate:
    dispatcher, now = state.dispatcher, time.monotonic()
    warm = [c for c in remaining if not dispatcher.stats.cooling(c.peer, now)]
    return choose(dispatcher.strategy, warm or remaining, dispatcher.stats, dispatcher.rng)


async def _attempt(
    state: NodeState,
    choice: Candidate,
    serve_here: ServeHere,
    path: str,
    body_for: BodyFor,
    until: float,
    failures: list[str],
) -> Response | None:
    """The node's answer if it is a correct result; else None, with the reason noted."""
    stats, started = state.dispatcher.stats, time.monotonic()
    stats.begin(choice.peer)
    try:
        answer: Response | None = await _ask(state, choice, serve_here, path, body_for, until)
        problem = _problem(answer) if answer is not None else ""
    except (AicnError, ForwardError) as error:
        failure = as_aicn_error(error)
        if failure.code == Code.TIMEOUT:
            raise failure from error  # the request's own deadline passed: no time to retry
        answer, problem = None, f"{failure} (code {int(failure.code)})"
    finally:
        stats.end(choice.peer)
    if answer is not None and not problem:
        stats.answered(choice.peer, time.monotonic() - started)
        return answer
    stats.failed(choice.peer, time.monotonic())
    failures.append(f"{choice.peer}: {problem}")
    return None


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
