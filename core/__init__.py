"""What every app shares and nothing business-specific: money, periods, idempotency, console."""
