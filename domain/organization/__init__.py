"""The organization aggregate: a tenant of the platform (the seed's Organization)."""
