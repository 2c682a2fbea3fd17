"""The /dashboard page: live charts of traffic, latency, errors, lag and usage over SSE."""
