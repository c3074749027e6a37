"""Wire models: pure pydantic, no I/O, importable by every layer."""
