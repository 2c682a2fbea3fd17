"""Adapters, settings, composition root, process runners and the command-line interface."""
