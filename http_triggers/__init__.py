"""HTTP triggers of the function app; trigger functions live in blueprint.py, plain handlers beside it."""
