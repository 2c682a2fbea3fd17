"""Alert rules: thresholds on request metrics or projection lag, and their firing and resolving."""
