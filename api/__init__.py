"""The litestar app: the HTTP platform (api/platform), who calls and what they may do
(api/auth), one package per capability's routes and schemas, composed by api/app.py."""
