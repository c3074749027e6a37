"""The OpenAI / OffGrid surface of a node (seed 004), routed across the mesh by ``model``.

``routes`` holds the endpoints; ``relay`` validates a body, asks the dispatcher for a
provider of service ``llm`` serving that model and streams the answer back; ``errors``
gives every failure the seed's ``{"error": {"message", "type", "code"}}`` shape.
"""
