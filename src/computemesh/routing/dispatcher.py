"""The global dispatcher: pick a provider, forward, and fail over before the first byte.

Attempts are bounded (``max_attempts``) and share one total deadline. A provider
that cannot be reached, answers 5xx, or resets before its first byte is cooled
down and another is tried; once bytes reach the client there is no going back.
``failover`` is that loop for any kind of attempt, so a surface whose answers need a
check of their own (AICN's proxy calls) chooses and retries providers the same way.
"""

import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from computemesh.ids import PeerId
from computemesh.p2phttp.direct import DirectSender
from computemesh.registry.providers import ProviderIndex
from computemesh.routing.candidates import Candidate, Fields, find_candidates
from computemesh.routing.errors import (
    AllAttemptsFailed,
    BadAnswer,
    ForwardError,
    NoProvider,
    Unreachable,
)
from computemesh.routing.forwarder import Forwarded, Outbound, Timeouts, forward
from computemesh.routing.observer import DispatchObserver, DispatchTrace, Unobserved
from computemesh.routing.stats import ProviderStats
from computemesh.routing.strategy import Strategy, choose

log = logging.getLogger(__name__)

LocalUrl = Callable[[str, Fields], str | None]
SERVED_BY = "x-computing-node"
T = TypeVar("T")
Attempt = Callable[[Candidate], Awaitable[T]]
Release = Callable[[], None]
Held = Callable[[T, Release], None]
"""When a provider's answer stops counting as in flight: ``held(answer, release)``."""


def _released(answer: object, release: Release) -> None:
    release()  # an answer made whole: the provider is done with it


def _until_closed(answer: Forwarded, release: Release) -> None:
    answer.on_close(release)  # a relayed body: in flight until it is closed


@dataclass
class Dispatcher:
    http: DirectSender
    providers: ProviderIndex
    local_url: LocalUrl
    strategy: Strategy = "p2c"
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_attempts: int = 3
    stats: ProviderStats = field(default_factory=ProviderStats)
    rng: random.Random = field(default_factory=random.Random)
    observer: DispatchObserver = field(default_factory=Unobserved)

    async def dispatch(
        self, service: str, request: Outbound, fields: Fields, deadline: float
    ) -> Forwarded:
        """The first good response; else NoProvider, AllAttemptsFailed or DeadlineExceeded."""
        trace = DispatchTrace(service, fields, time.monotonic())

        async def attempt(choice: Candidate) -> Forwarded:
            url = self._url(choice, service, request, fields)
            response = await forward(self.http, url, request, self.timeouts, deadline)
            if response.status >= 500:
                await response.aclose()
                raise BadAnswer(f"answered HTTP {response.status}")
            response.headers.append((SERVED_BY, choice.peer))
            return response

        try:
            answer = await self.failover(service, fields, attempt, _until_closed, trace)
        except ForwardError:
            self.observer.finished(trace, None)
            raise
        self.observer.finished(trace, answer)
        return answer

    async def failover(
        self,
        service: str,
        fields: Fields,
        attempt: Attempt[T],
        held: Held[T] = _released,
        trace: DispatchTrace | None = None,
    ) -> T:
        """What ``attempt`` gives for the first provider it succeeds with.

        Providers are chosen by the strategy, those cooling down last. An attempt
        raises ``Unreachable`` (``BadAnswer`` for an answer not to pass on) to have
        another provider tried; any other error ends the request. The provider counts
        the request in flight until ``held`` releases it; ``trace`` follows the attempts
        for the observer.
        """
        if trace is None:
            trace = DispatchTrace(service, fields, time.monotonic())
        candidates = find_candidates(
            self.providers.matching(service, fields, time.time()), service, fields
        )
        trace.candidates = len(candidates)
        if not candidates:
            raise NoProvider(_no_provider_message(service, fields))
        failures: list[str] = []
        tried: set[PeerId] = set()
        while len(tried) < min(self.max_attempts, len(candidates)):
            choice = self._pick([c for c in candidates if c.peer not in tried])
            tried.add(choice.peer)
            trace.attempts, trace.provider = len(tried), choice
            try:
                return await self._attempt(choice, attempt, held)
            except Unreachable as error:
                log.info("provider %s failed, trying another: %s", choice.peer, error)
                failures.append(f"{choice.peer}: {error}")
                self.observer.cooled_down(trace, choice)
        raise AllAttemptsFailed(service, failures)

    def _pick(self, remaining: list[Candidate]) -> Candidate:
        now = time.monotonic()
        warm = [c for c in remaining if not self.stats.cooling(c.peer, now)]
        return choose(self.strategy, warm or remaining, self.stats, self.rng)

    async def _attempt(self, choice: Candidate, attempt: Attempt[T], held: Held[T]) -> T:
        """One attempt, kept in the provider's statistics (in flight, latency, cool-down)."""
        started = time.monotonic()
        self.stats.begin(choice.peer)
        try:
            answer = await attempt(choice)
        except BaseException as error:  # cancellation too: in flight must come back down
            self.stats.end(choice.peer)
            if isinstance(error, ForwardError):
                self.stats.failed(choice.peer, time.monotonic(), str(error))
            raise
        self.stats.answered(choice.peer, time.monotonic() - started)
        held(answer, lambda: self.stats.end(choice.peer))
        return answer

    def _url(self, choice: Candidate, service: str, request: Outbound, fields: Fields) -> str:
        if choice.is_local:
            base = self.local_url(service, fields)
            if base is not None:
                return base + request.target()
        return f"libp2p://{choice.peer}/v1/_service/{service}{request.target()}"


def _no_provider_message(service: str, fields: Fields) -> str:
    model = fields.get("model")
    suffix = f" for model {model!r}" if model else ""
    return f"no online provider offers service {service!r}{suffix}"
