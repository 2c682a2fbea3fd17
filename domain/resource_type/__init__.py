"""Resource types: an organization's named JSON Schemas for its resources' data."""
