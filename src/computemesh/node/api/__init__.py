"""HTTP edge of the node: one package per API surface, thin routers over the core."""
