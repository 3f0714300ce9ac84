"""Adapters of outside SDK objects to the application's ports (without importing the SDKs themselves)."""
