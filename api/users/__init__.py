"""User routes: invitations, profile, role, status and two-factor enrollment."""
