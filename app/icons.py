"""Icons from qtawesome (Material Design Icons); an empty icon if a name or the font is unavailable."""

from __future__ import annotations

from PySide6.QtGui import QIcon

_cache: dict[tuple[str, str], QIcon] = {}


def icon(name: str, color: str = "#d8d8d8") -> QIcon:
    """The qtawesome icon ``name`` (e.g. 'mdi6.brush') in ``color``."""
    key = (name, color)
    if key not in _cache:
        try:
            import qtawesome

            _cache[key] = qtawesome.icon(name, color=color)
        except Exception:  # a missing glyph must never stop the editor
            _cache[key] = QIcon()
    return _cache[key]
