"""The gateway's HTTP edge: the OCF proxy surface (seed 001) plus nonce and usage."""
