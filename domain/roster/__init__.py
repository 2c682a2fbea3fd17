"""The organization's roster of active owners: one stream per organization, so the last owner stays."""
