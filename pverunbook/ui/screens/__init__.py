"""Screens and modals of the pverunbook TUI."""
