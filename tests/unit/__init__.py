"""Chronicle unit tests."""
