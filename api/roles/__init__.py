"""Role routes: the system roles and an organization's custom roles."""
