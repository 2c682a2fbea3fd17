"""Chronicle tests."""
