"""Mediation of host-network CDR files, the rating engine, online charging, rerating."""
