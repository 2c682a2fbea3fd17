"""Users of an organization: invitation, sign-up, credentials, profile, role, status, two-factor."""
