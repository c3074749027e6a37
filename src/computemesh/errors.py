"""The exception tree of computemesh: every error it raises on purpose, and where.

The classes below live here; the rest of the tree lives with the layer that raises it
(named in brackets), so that it can be caught there by type.

ComputemeshError
├── ConfigError          bad settings, refused placeholder secrets, unreadable config files
│   └── BadServiceAddress  an unusable service URL, or one pointing here [registry.service_urls]
├── IdentityError        a key file that cannot be read or has the wrong type
├── TokenError           a join token that cannot be decoded
├── MeshError            the p2p layer could not do what was asked (streams, listening, dials)
│   ├── DialError        no connection to a peer could be made
│   │   └── InvalidAddress  what was given to dial is not a multiaddr ending in ``/p2p/<peer id>``
│   └── BodyStalled      a request body stopped coming in [p2phttp.inbound]
├── RecordError          a table snapshot that is not a list of records
├── ModelLoadError       a model file that is missing, not GGUF, or that llama.cpp refused
├── InvalidRequestError  an OpenAI-style request body that is malformed or out of range
├── ForwardError         a request could not be forwarded; each one has its status [routing.errors]
│   ├── NoProvider, UnknownPeer, UnknownService, AllAttemptsFailed, DeadlineExceeded
│   └── Unreachable      the provider could not be reached or broke before answering
│       └── BadAnswer    it answered, but not with an answer to pass on: another is tried
├── UnsafePath           a forwarded path that tries to leave its service [routing.paths]
├── GatewayError         the gateway's own tree [gateway.errors]
├── AicnError            a failure answered in AICN's envelope [node.api.aicn.envelope]
├── P2PUnavailable       LocalAI's P2P routes on a node without P2P [node.api.localai.errors]
└── StreamCut            a relayed body broke after the answer began [node.api.forward.responses]

Outside the tree on purpose, because a library catches them by its own type: ``BodyTooLarge``
(Starlette's ``HTTPException``), ``CallerGone`` (the ``OSError`` ASGI asks for) and
``DeadlinePassed`` (an ``httpx.ReadTimeout``, so httpx and the forwarder treat it as one).
"""


class ComputemeshError(Exception):
    """Root of every error computemesh raises on purpose."""


class ConfigError(ComputemeshError):
    """Settings are invalid or refer to something unusable."""


class IdentityError(ComputemeshError):
    """The node's key file is unreadable or of an unexpected type."""


class TokenError(ComputemeshError):
    """A join token is malformed."""


class MeshError(ComputemeshError):
    """The p2p layer failed."""


class DialError(MeshError):
    """A connection to a peer could not be made."""


class InvalidAddress(DialError):
    """What was given to dial is not a multiaddr ending in ``/p2p/<peer id>``."""


class RecordError(ComputemeshError):
    """A peer's table snapshot cannot be read as a list of records."""


class ModelLoadError(ComputemeshError):
    """A model could not be loaded; the message names the file."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"cannot load model {path}: {reason}")
        self.path = path
        self.reason = reason


class InvalidRequestError(ComputemeshError):
    """A request body is not valid JSON or breaks the API's rules (an HTTP 400).

    ``code`` is machine-readable (``invalid_json``, ``invalid_parameter``); ``param`` names
    the offending field when there is one.
    """

    def __init__(self, message: str, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
