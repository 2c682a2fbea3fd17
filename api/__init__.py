"""The litestar app: routes, request/response structs, auth guards and error mapping."""
