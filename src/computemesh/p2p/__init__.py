"""The p2p adapter: the only package that imports libp2p.

Everything else sees a narrow facade (``MeshHost``, ``NodeIdentity``, ``MeshStream``)
so that the py-libp2p workarounds stay here, and a different libp2p could replace it.
"""
