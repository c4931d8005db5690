"""Composition root, settings, logging and the CLI."""
