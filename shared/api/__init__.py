"""Plain HTTP handlers: they take parsed request parts and return an ``ApiResponse`` (no Azure imports)."""
