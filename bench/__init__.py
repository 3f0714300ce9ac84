"""Benchmarks: each script prints one JSON document with its figures and their goals."""
