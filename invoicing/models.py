"""Models of the invoicing."""
