"""Nodes, reached over HTTP only: forward OpenAI requests, read the node table."""
