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


class AllAttemptsFailed(ForwardError):
    """Every provider tried failed (502)."""

    code = "all_providers_failed"


class DeadlineExceeded(ForwardError):
    """The total deadline passed before a response began (504)."""

    code = "deadline_exceeded"
