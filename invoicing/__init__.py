"""Bill runs, invoices and credit notes, tax, payments, dunning, PDF invoices."""
