"""Webhook endpoints: an organization's destinations for its events (issue 12, item 4)."""
