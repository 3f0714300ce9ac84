"""Test helpers shared by the suites (fixtures, fakes at the durable boundary, service launchers)."""
