"""Resources: the tenants' typed data API (CRUD, upsert by key, history)."""
