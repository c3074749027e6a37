"""OCF's node API (seed 000): health and the distributed node table."""
