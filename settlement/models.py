"""Models of the settlement."""
