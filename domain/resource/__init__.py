"""Resources: an organization's typed data records, with metadata, relationships and status."""
