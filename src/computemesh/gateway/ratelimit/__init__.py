"""Rate limits per API key and per client IP: requests and tokens in a sliding minute."""
