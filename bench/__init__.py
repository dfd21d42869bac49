"""Load benchmarks of the portal against a bare FastAPI baseline; see bench/README.md."""
