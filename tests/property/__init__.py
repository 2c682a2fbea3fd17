"""Chronicle property tests."""
