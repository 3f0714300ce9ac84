"""orchestrators of the function app; trigger functions live in blueprint.py."""
