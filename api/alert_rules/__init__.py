"""Alert rule routes and bodies."""
