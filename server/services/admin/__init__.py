"""Imports, backup and the demo seed."""
