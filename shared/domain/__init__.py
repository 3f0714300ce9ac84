"""The pure domain: money, deals and invoices, saga messages and the error tree (no I/O, no Azure imports)."""
