"""Bulk operations: many resource writes, applied by the bulk worker."""
