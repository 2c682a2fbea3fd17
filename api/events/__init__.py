"""Auditors' replay of the event store over HTTP."""
