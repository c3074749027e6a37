"""Storage: the only package that imports SQLAlchemy. Callers get plain records back."""

from computemesh.gateway.db.database import Database
from computemesh.gateway.db.records import ApiKeyRecord, LoginNonce, UsageRecord, UsageTotal, User
from computemesh.gateway.db.usage import dead_letter_text

__all__ = [
    "ApiKeyRecord",
    "Database",
    "LoginNonce",
    "UsageRecord",
    "UsageTotal",
    "User",
    "dead_letter_text",
]
