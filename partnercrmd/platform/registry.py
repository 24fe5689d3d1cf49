"""The current user's Windows registry: string values under HKEY_CURRENT_USER, never another hive.

Writing under HKEY_CURRENT_USER needs no administrator rights and touches no other user. Everything
partnercrmd registers (the Run value, the URL protocol's ProgId and capabilities) goes through
`Registry`; `CurrentUserRegistry` is the real one, through `winreg`, on Windows only.
"""

from __future__ import annotations

import sys
from typing import Protocol

from ..errors import ConfigError

HIVE_NAME = "HKEY_CURRENT_USER"


def windows_only() -> ConfigError:
    return ConfigError("The registry exists on Windows only.", code="windows_only")


class Registry(Protocol):
    """String values under HKEY_CURRENT_USER; `key` is a path below it (backslashes), `name` "" is the default."""

    def get(self, key: str, name: str) -> str | None:
        """The value, or None when the key or the value is missing."""
        ...

    def set(self, key: str, name: str, value: str) -> None:
        """Create the key (and its parents) if needed and set the value (REG_SZ)."""
        ...

    def delete_value(self, key: str, name: str) -> bool:
        """Remove the value; False when there was none."""
        ...

    def delete_tree(self, key: str) -> bool:
        """Remove the key with everything below it; False when there was none."""
        ...


class CurrentUserRegistry:
    """`Registry` through `winreg` (Windows only: elsewhere every call raises ConfigError)."""

    def get(self, key: str, name: str) -> str | None:
        if sys.platform != "win32":
            raise windows_only()
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_READ) as handle:
                value, _ = winreg.QueryValueEx(handle, name)
        except FileNotFoundError:
            return None
        return str(value)

    def set(self, key: str, name: str, value: str) -> None:
        if sys.platform != "win32":
            raise windows_only()
        import winreg

        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
            winreg.SetValueEx(handle, name, 0, winreg.REG_SZ, value)

    def delete_value(self, key: str, name: str) -> bool:
        if sys.platform != "win32":
            raise windows_only()
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as handle:
                winreg.DeleteValue(handle, name)
        except FileNotFoundError:
            return False
        return True

    def delete_tree(self, key: str) -> bool:
        if sys.platform != "win32":
            raise windows_only()
        import winreg

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_READ) as handle:
                children: list[str] = []
                while True:
                    try:
                        children.append(winreg.EnumKey(handle, len(children)))
                    except OSError:  # no more subkeys
                        break
        except FileNotFoundError:
            return False
        for child in children:  # DeleteKey refuses a key that has subkeys
            self.delete_tree(f"{key}\\{child}")
        winreg.DeleteKey(winreg.HKEY_CURRENT_USER, key)
        return True
