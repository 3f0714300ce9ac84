"""Benchmarks: each script prints one JSON document; its ``figures`` list (see ``_figures.py``) feeds the report."""
