"""Versioned prompt templates (package data) and their renderer."""
