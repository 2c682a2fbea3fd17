"""Unique-value claims (emails platform-wide, role names per organization): one stream per value."""
