"""Custom roles of an organization, and the fixed system roles."""
