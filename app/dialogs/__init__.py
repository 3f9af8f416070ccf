"""Dialogs (one class per file)."""
