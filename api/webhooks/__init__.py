"""Webhook endpoints and deliveries over HTTP."""
