"""Thin entities functions: parse input, call plain code in shared/, return plain JSON."""

import azure.durable_functions as df

bp = df.Blueprint()
