"""Use cases: load streams, decide, append with the expected version; retry on conflicts."""
