"""Models of the catalogue."""
