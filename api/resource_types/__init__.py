"""Resource type routes and bodies."""
