"""A sheet listing every action with a shortcut, grouped by menu in the menus' order, plus the canvas gestures."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

GESTURES = (
    ("Zoom around the cursor", "Mouse wheel"),
    ("Pan", "Space + drag, or middle button drag"),
    ("Compare with the original", "Hold \\"),
    ("Cancel the current gesture", "Esc"),
)
# The sheet's name of an action whose text changes as the program runs (the undo stack's "Undo Brush stroke").
SHEET_NAME = "sheet_name"

Section = tuple[str, list[tuple[str, str]]]


def action_name(action: QAction) -> str:
    """The action's fixed name: its `SHEET_NAME` property, else its text without mnemonics and dots."""
    fixed = action.property(SHEET_NAME)
    return str(fixed) if fixed else action.text().replace("&", "").rstrip("…")


def sections_of(menus: Iterable[QMenu], actions: Iterable[QAction]) -> list[Section]:
    """Rows grouped by menu (in the menus' order, each menu's actions in its order); shortcuts of actions no menu
    holds under "Other"; the canvas gestures last."""
    out: list[Section] = []
    listed: set[int] = set()
    for menu in menus:
        rows = []
        for action in _walk(menu):
            if not action.shortcut().isEmpty() and id(action) not in listed:
                listed.add(id(action))
                rows.append((action_name(action), _keys(action)))
        if rows:
            out.append((menu.title().replace("&", ""), rows))
    other = [
        (action_name(a), _keys(a)) for a in actions if not a.shortcut().isEmpty() and id(a) not in listed
    ]
    if other:
        out.append(("Other", sorted(other)))
    out.append(("Canvas", list(GESTURES)))
    return out


def _walk(menu: QMenu) -> list[QAction]:
    found = []
    for action in menu.actions():
        sub = action.menu()
        found.extend(_walk(sub) if isinstance(sub, QMenu) else [action])
    return found


def _keys(action: QAction) -> str:
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())


class ShortcutsDialog(QDialog):
    def __init__(self, sections: Sequence[Section], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        count = sum(1 + len(rows) for _, rows in sections)
        table = QTableWidget(count, 2, self)
        table.setHorizontalHeaderLabels(["Action", "Shortcut"])
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        bold = QFont(table.font())
        bold.setBold(True)
        self.rows: list[tuple[str, str]] = []  # (name, keys), the section titles left out
        row = 0
        for title, entries in sections:
            heading = QTableWidgetItem(title)
            heading.setFont(bold)
            table.setItem(row, 0, heading)
            table.setSpan(row, 0, 1, 2)
            row += 1
            for name, keys in entries:
                table.setItem(row, 0, QTableWidgetItem(name))
                table.setItem(row, 1, QTableWidgetItem(keys))
                self.rows.append((name, keys))
                row += 1
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.resize(460, 560)
        self.row_count = len(self.rows)
