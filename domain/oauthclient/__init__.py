"""OAuth 2.0 clients of an organization."""
