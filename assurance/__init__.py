"""Usage-chain reconciliation, leakage findings, KPIs and dashboards."""
