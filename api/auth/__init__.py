"""Who is calling and what they may do: the principal, the guards, the tenant wall, signing,
and the routes that hand out credentials (login, sessions, OAuth, the JWKS)."""
