"""Models of the assurance."""
