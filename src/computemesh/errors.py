"""The exception tree of computemesh.

ComputemeshError
├── ConfigError          bad settings, refused placeholder secrets, unreadable config files
├── IdentityError        a key file that cannot be read or has the wrong type
├── TokenError           a join token that cannot be decoded
├── MeshError            the p2p layer could not do what was asked
│   ├── DialError        no connection to a peer could be made
│   └── MembershipError  a peer failed the network-secret challenge
├── RecordError          a node record that cannot be parsed
├── InvalidRequestError  an OpenAI-style request body that is malformed or out of range
└── InferenceError       the local inference engine failed
    └── ModelLoadError   a model file that is missing, not GGUF, or that llama.cpp refused
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


class MembershipError(MeshError):
    """A peer did not prove it holds the network secret."""


class RecordError(ComputemeshError):
    """A node record is malformed."""


class InferenceError(ComputemeshError):
    """The local inference engine failed."""


class ModelLoadError(InferenceError):
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
