"""Bulk operations: many resource writes applied by a worker, chunk by chunk."""
