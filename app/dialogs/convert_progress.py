"""The modal progress box of a checkpoint conversion: shown while the weights loader converts, its Cancel
cancels the conversion."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.weights_loader import WeightsLoader

STEP_WORDS = {"read": "Reading the checkpoint…", "check": "Checking every tensor…", "write": "Writing…"}


class ConvertProgress(QObject):
    """Follows `loader`; `dialog` is the box while a conversion runs, else None."""

    def __init__(self, loader: WeightsLoader, parent: QWidget) -> None:
        super().__init__(parent)
        self.loader, self.parent_widget = loader, parent
        self.dialog: QProgressDialog | None = None
        loader.busy_changed.connect(self._on_busy_changed)
        loader.progress.connect(self._on_progress)

    def _on_busy_changed(self, busy: bool) -> None:
        if busy:
            dialog = QProgressDialog("Converting the checkpoint…", "Cancel", 0, 100, self.parent_widget)
            dialog.setWindowTitle("Load DeepFill weights")
            dialog.setWindowModality(Qt.WindowModality.WindowModal)
            dialog.setMinimumDuration(0)
            dialog.canceled.connect(self.loader.cancel)
            dialog.show()
            self.dialog = dialog
        elif self.dialog is not None:
            self.dialog.canceled.disconnect(self.loader.cancel)
            self.dialog.close()
            self.dialog = None

    def _on_progress(self, stage: str, fraction: float) -> None:
        if self.dialog is not None:
            self.dialog.setLabelText(STEP_WORDS.get(stage, stage))
            self.dialog.setValue(round(fraction * 100))
