"""The HTTP platform every route stands on: the edge, errors and their languages, versions,
CORS, security headers, proxies, the OpenAPI document and docs, rate limits, idempotency and
the request-body base."""
