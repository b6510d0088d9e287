"""Widgets of the pverunbook TUI; they render state and post messages, nothing more."""
