"""Models of the subscribers."""
