"""Use cases: what a trigger asks of the app, as plain async code behind the durable client port (no SDK)."""
