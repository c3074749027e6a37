"""The gateway: wallet accounts, JWT, API keys, usage and rate limits in front of mesh nodes.

Layers, top down (import-linter checks them):

- ``app``        composition root: builds everything from ``GatewaySettings``, owns lifecycles
- ``startup``    beside it: the checks before serving (database, Redis) and the start warnings
- ``api``        FastAPI routers and dependencies, the only FastAPI code
- ``accounts``, ``auth``, ``metering``, ``ratelimit``, ``upstream``   domain; no HTTP framework
- ``db``         the only package that imports SQLAlchemy (Alembic migrations live in it)
- ``errors``     the gateway's exception tree
"""
