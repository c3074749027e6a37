"""The OpenAI / OffGrid surface of a node, routed across the mesh by ``model``.

``routes`` holds the endpoints; ``relay`` validates a body, asks the dispatcher for a
provider of service ``llm`` serving that model and streams the answer back; ``errors``
gives every failure the OffGrid API's ``{"error": {"message", "type", "code"}}`` shape.
"""
