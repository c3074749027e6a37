"""One router per part of the surface."""
