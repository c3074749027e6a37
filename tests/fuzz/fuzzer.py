"""Schemathesis over a running server's OpenAPI description, within a time budget.

Every operation of the schema gets examples in both of schemathesis' modes (values the
schema allows, and values it forbids), spread evenly over the budget. Nothing is raised
while fuzzing, so hypothesis never shrinks or repeats: each answer that breaks the rules
is collected as a ``Finding`` and the caller asserts on the whole list.
"""

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

CALL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Finding:
    operation: str
    status: int | str
    detail: str


@dataclass
class Report:
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


Allowed = Callable[[str, schemathesis.Response], bool]
"""Whether a 500 on this path is one the API pages (docs/api/) document."""
HeadersFor = Callable[[str], dict[str, str]]
"""Credentials to send on a path, so that fuzzing reaches past the login check."""


def no_headers(path: str) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class Target:
    base_url: str
    allowed_500: Allowed
    headers_for: HeadersFor = no_headers


def fuzz(target: Target, budget_s: float, examples: int = 40) -> Report:
    schema = schemathesis.openapi.from_url(f"{target.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    report = Report()
    share = budget_s / (2 * len(operations))
    for operation in operations:
        for mode in GenerationMode:
            _fuzz_operation(operation, mode, target, share, examples, report)
    return report


def _fuzz_operation(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    target: Target,
    share: float,
    examples: int,
    report: Report,
) -> None:
    stop_at = time.monotonic() + share

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        if time.monotonic() < stop_at:
            _call(case, target, report)

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid: no parameters or body
        run()


def _call(case: schemathesis.Case, target: Target, report: Report) -> None:
    label = f"{case.method} {case.formatted_path}"
    report.requests += 1
    headers = target.headers_for(case.formatted_path)
    try:
        response = case.call(base_url=target.base_url, headers=headers, timeout=CALL_TIMEOUT_S)
    except requests.RequestException as error:  # the server is gone or stopped answering
        report.findings.append(Finding(label, "no answer", repr(error)))
        return
    status = response.status_code
    report.statuses[status] = report.statuses.get(status, 0) + 1
    if status == 500 and not target.allowed_500(case.formatted_path, response):
        report.findings.append(Finding(label, status, response.text[:300]))
    elif status >= 500 and not _is_json(response):
        report.findings.append(Finding(label, status, "not JSON: " + response.text[:300]))


def _is_json(response: schemathesis.Response) -> bool:
    try:
        response.json()
    except ValueError:
        kinds = {name.lower(): values for name, values in response.headers.items()}
        return any(v.startswith("text/event-stream") for v in kinds.get("content-type", []))
    return True
