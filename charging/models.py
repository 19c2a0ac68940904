"""Models of the charging."""
