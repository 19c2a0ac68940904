"""The operator console of charging: usage files, rejected records, the error queue, usage,
the rating simulator and rerating."""
