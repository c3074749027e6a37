"""OCF's node API: health and the distributed node table."""
