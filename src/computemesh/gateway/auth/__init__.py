"""Credentials: JWTs for people, API keys for programs, and the principal both resolve to."""
