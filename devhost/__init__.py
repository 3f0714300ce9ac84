"""devhost: a local stand-in for the Azure Functions host plus the Durable Functions extension."""

__all__ = ["__version__"]
__version__ = "0.1.0"
