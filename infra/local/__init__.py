"""Running the real services and the app processes on one machine, without Docker."""
