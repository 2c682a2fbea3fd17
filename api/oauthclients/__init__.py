"""OAuth client routes: register, list, read, update, rotate the secret, delete."""
