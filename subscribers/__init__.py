"""Brands, customers, billing accounts, subscriptions, SIMs, balances and buckets, top-ups."""
