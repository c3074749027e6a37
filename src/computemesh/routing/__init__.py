"""Choosing a provider for a request: candidates, load, latency, cool-downs, retries."""
