"""pverunbook: step-by-step recovery runbooks for Proxmox VE clusters."""

#: The one place the version is written (pyproject.toml reads it: [tool.hatch.version]).
__version__ = "0.1.0"
