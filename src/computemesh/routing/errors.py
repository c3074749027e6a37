"""Why a request could not be forwarded; the HTTP edge maps each to an honest status."""

from computemesh.errors import ComputemeshError


class ForwardError(ComputemeshError):
    """Forwarding failed; ``code`` is a stable machine-readable reason."""

    code = "forward_failed"


class NoProvider(ForwardError):
    """No online provider offers the service for this request (503)."""

    code = "no_provider"


class UnknownPeer(ForwardError):
    """The peer id is not one this node knows (502)."""

    code = "unknown_peer"


class UnknownService(ForwardError):
    """This node registered no service of that name (404)."""

    code = "unknown_service"


class Unreachable(ForwardError):
    """The provider could not be reached or broke before answering (502)."""

    code = "provider_unreachable"


class BadAnswer(Unreachable):
    """The provider answered, but not with an answer to pass on (a 5xx): try another."""


class AllAttemptsFailed(ForwardError):
    """Every provider tried failed (502); ``failures`` says how, one line per provider."""

    code = "all_providers_failed"

    def __init__(self, service: str, failures: list[str]) -> None:
        tried = f"all {len(failures)} providers tried for {service!r} failed: "
        super().__init__(tried + "; ".join(failures))
        self.failures = failures


class DeadlineExceeded(ForwardError):
    """The total deadline passed before a response began (504)."""

    code = "deadline_exceeded"
