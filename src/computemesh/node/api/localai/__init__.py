"""The LocalAI P2P surface: ``/api/p2p`` and its token, workers, federation, stats.

- ``router``: the endpoints; ``adapter``: table rows → LocalAI nodes; ``errors``: its error body
"""
