"""API key routes: issue, list, read, roll and revoke."""
