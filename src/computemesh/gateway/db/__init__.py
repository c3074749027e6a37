"""Storage: the only package that imports SQLAlchemy. Callers get plain records back."""

from computemesh.gateway.db.database import Database
from computemesh.gateway.db.records import ApiKeyRecord, LoginNonce, UsageRecord, UsageTotal, User

__all__ = ["ApiKeyRecord", "Database", "LoginNonce", "UsageRecord", "UsageTotal", "User"]
