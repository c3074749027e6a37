"""The gateway's PostgreSQL fixture, shared with the gateway tests."""

from tests.gateway.conftest import postgres_url as postgres_url
