"""Developer scripts behind the Makefile."""
