"""The mesh node: composition root (``daemon``), ASGI app (``app``) and HTTP surfaces (``api``)."""
