"""Engine fixtures for this package (shared with integration tests via tests.fixtures)."""

from tests.fixtures.engines import tiny_engine, tiny_gguf

__all__ = ["tiny_engine", "tiny_gguf"]
