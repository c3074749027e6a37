"""computemesh: a decentralized AI compute network."""

__version__ = "0.1.0"
