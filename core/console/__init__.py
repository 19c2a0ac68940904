"""The operator console's building blocks: one list, detail, form and action pattern."""
