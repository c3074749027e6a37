"""The node's Prometheus metrics: instruments, where they are counted, and ``/metrics``.

``instruments`` holds the registry (one per node, never the global one); ``watch``
connects it to a node's parts; ``http_requests`` counts requests at the HTTP edge;
``forwarding`` counts what the dispatcher does; ``answers`` times the OpenAI surface's
answers; ``node_state`` and ``engine`` are read at scrape time. See docs/metrics.md.
"""
