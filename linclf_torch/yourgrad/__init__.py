"""Checking your own gradient."""
