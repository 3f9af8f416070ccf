"""A question box whose buttons say what they do ("Restore", "Later") rather than Yes / Cancel.

Tests answer it by replacing `ask` (the static QMessageBox functions cannot label their buttons).
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

Button = QMessageBox.StandardButton


def ask(parent: QWidget | None, title: str, text: str, labels: dict[Button, str], default: Button) -> Button:
    """Show a modal question with one button per entry of ``labels`` (a standard button's role, its text);
    returns the button chosen (Escape: the box's escape button, Cancel when present)."""
    buttons = Button.NoButton
    for button in labels:
        buttons |= button
    box = QMessageBox(QMessageBox.Icon.Question, title, text, buttons, parent)
    for button, label in labels.items():
        widget = box.button(button)
        if widget is not None:
            widget.setText(label)
    box.setDefaultButton(default)
    return Button(box.exec())
