"""Who is calling: the one object every later check receives."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    api_key_id: str | None = None
