"""Compatibility name for :mod:`pverunbook.pve.qemu` (the rules now live in that package)."""

from pverunbook.pve.qemu import (
    CmdlineError,
    RecoveredConfig,
    Storage,
    StorageMap,
    parse_storage_cfg,
    recover_config,
    split_all,
    split_cmdline,
)

__all__ = [
    "CmdlineError",
    "RecoveredConfig",
    "Storage",
    "StorageMap",
    "parse_storage_cfg",
    "recover_config",
    "split_all",
    "split_cmdline",
]
