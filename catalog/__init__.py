"""Zones, time bands, rate cards, plans and versions, allowances, add-ons, promotions, tax."""
