"""Dark and light themes: the Fusion style with a palette."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

_DARK = {
    QPalette.ColorRole.Window: "#2b2b2e",
    QPalette.ColorRole.WindowText: "#e4e4e4",
    QPalette.ColorRole.Base: "#1f1f22",
    QPalette.ColorRole.AlternateBase: "#2f2f33",
    QPalette.ColorRole.ToolTipBase: "#3a3a3f",
    QPalette.ColorRole.ToolTipText: "#f0f0f0",
    QPalette.ColorRole.Text: "#e4e4e4",
    QPalette.ColorRole.Button: "#35353a",
    QPalette.ColorRole.ButtonText: "#e4e4e4",
    QPalette.ColorRole.BrightText: "#ff5555",
    QPalette.ColorRole.Highlight: "#3d7bd9",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#6aa5ff",
    QPalette.ColorRole.PlaceholderText: "#8a8a8a",
}


# Disabled controls: grey text, and a grey highlight so a disabled slider's filled groove reads as off.
_DISABLED = {
    "dark": {"text": "#7a7a7a", "highlight": "#4a4a50"},
    "light": {"text": "#9a9a9a", "highlight": "#c4c4c4"},
}


def icon_color(theme: str) -> str:
    return "#dcdcdc" if theme == "dark" else "#303030"


def warning_color(theme: str) -> str:
    """Warning text: orange on the dark theme, a dark amber on the light one (contrast about 5:1 on both)."""
    return "#e0a030" if theme == "dark" else "#8a5300"


def apply_theme(app: QApplication, theme: str) -> None:
    """Apply 'dark' or 'light' to the whole application."""
    app.setStyle("Fusion")
    if theme == "dark":
        palette = QPalette()
        for role, color in _DARK.items():
            palette.setColor(role, QColor(color))
    else:
        palette = app.style().standardPalette()
    disabled = _DISABLED["dark" if theme == "dark" else "light"]
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled["text"]))
    palette.setColor(
        QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, QColor(disabled["highlight"])
    )
    app.setPalette(palette)
