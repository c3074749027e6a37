"""Typed identifiers shared by every layer."""

from typing import NewType

PeerId = NewType("PeerId", str)
"""A libp2p peer id in its base58 text form (``12D3KooW…`` or ``16Uiu2…``)."""
