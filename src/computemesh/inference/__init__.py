"""Local inference: the only package that imports the engine (llama.cpp via xllamacpp)."""
