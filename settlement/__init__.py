"""Partners, wholesale rate cards, revenue share, statements, reconciliation."""
