"""Console pages of the subscribers app (customers, accounts, subscriptions, SIMs, vouchers)."""
