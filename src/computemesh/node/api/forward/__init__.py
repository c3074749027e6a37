"""The OCF forwarding endpoints: ``/v1/p2p``, ``/v1/_service`` and ``/v1/service``."""
