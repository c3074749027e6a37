"""Alembic environment: runs on the connection ``db.migrate`` hands over."""

from alembic import context

from computemesh.gateway.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `computemesh gateway migrate`")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
