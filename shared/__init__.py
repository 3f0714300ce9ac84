"""Plain Python that the function app's triggers call: domain, saga engine, connectors, configuration."""
