"""Organization routes: the tenants' commands, reads, history and the past."""
