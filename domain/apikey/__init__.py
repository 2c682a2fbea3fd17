"""The API key aggregate: a secret credential of an organization, shown once, stored hashed."""
