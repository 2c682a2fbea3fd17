"""The slug registry: one stream per slug, so a slug belongs to at most one organization."""
