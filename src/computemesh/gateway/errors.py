"""The gateway's exception tree; ``api.errors`` maps each to an HTTP status.

GatewayError
├── Unauthorized        missing, invalid, expired or deactivated credentials (401)
├── NotFound            a resource that does not exist or is not the caller's (404)
├── RateLimited         a request or token budget is spent (429, with a retry delay)
├── StorageError        the database refused or is not migrated (500)
│   ├── StorageUnavailable  the database cannot be reached now: retry, the data is fine
│   └── RecordRejected      the database will never take this data as it is
├── Unavailable         a service the gateway needs (Redis) does not answer (503)
└── UpstreamError       no node answered usefully (502)
    └── UpstreamTimeout a node did not answer in time (504)
"""

from computemesh.errors import ComputemeshError


class GatewayError(ComputemeshError):
    """Root of every error the gateway raises on purpose."""


class Unauthorized(GatewayError):
    """Credentials are missing or not acceptable."""


class NotFound(GatewayError):
    """The resource does not exist, or belongs to someone else."""


class RateLimited(GatewayError):
    """A limit is reached; ``retry_after`` says how long until it is not."""

    def __init__(self, message: str, retry_after: float, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = headers


class StorageError(GatewayError):
    """The database cannot be used as it is."""


class StorageUnavailable(StorageError):
    """The database did not answer: the same write may succeed later."""


class RecordRejected(StorageError):
    """The database answers but refuses this data; retrying it as it is cannot help."""


class Unavailable(GatewayError):
    """A service the gateway depends on, other than the database, cannot be used."""


class UpstreamError(GatewayError):
    """No node gave a usable answer."""


class UpstreamTimeout(UpstreamError):
    """A node did not answer in time."""
