"""The gateway's HTTP edge: the OCF proxy surface plus nonce and usage."""
