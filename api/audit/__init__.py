"""The audit trail and its verification over HTTP."""
