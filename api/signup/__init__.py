"""Public sign-up routes: sign-up, email verification and accepting an invitation."""
