"""Django admin (the back door for admin users) of the charging."""
