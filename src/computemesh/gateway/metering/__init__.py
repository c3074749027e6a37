"""Usage metering: count tokens per request (streams too) and write records behind the request."""
