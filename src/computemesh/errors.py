"""The exception tree of computemesh.

ComputemeshError
├── ConfigError          bad settings, refused placeholder secrets, unreadable config files
├── IdentityError        a key file that cannot be read or has the wrong type
├── TokenError           a join token that cannot be decoded
├── MeshError            the p2p layer could not do what was asked
│   ├── DialError        no connection to a peer could be made
│   └── MembershipError  a peer failed the network-secret challenge
└── RecordError          a node record that cannot be parsed
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


class MembershipError(MeshError):
    """A peer did not prove it holds the network secret."""


class RecordError(ComputemeshError):
    """A node record is malformed."""
