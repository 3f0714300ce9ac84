"""The transaction ledger: an Azure Table projection of every transaction, indexed for time-window queries."""
