"""The deal-to-invoice sync: step functions, the saga built from them, identities and the batch cursor."""
