"""Undo commands: layer edits (strokes, shapes, mask operations) and fills."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect
from PySide6.QtGui import QImage, QUndoCommand

from app.document import Document
from inpaint_core.api import AttentionField


class LayerPatchCommand(QUndoCommand):
    """A stroke or shape: the before/after pixels of the tiles it touched. Already applied when pushed."""

    def __init__(
        self, doc: Document, name: str, patches: list[tuple[QRect, QImage, QImage]], text: str
    ) -> None:
        super().__init__(text)
        self._doc, self._name, self._patches = doc, name, patches
        self._applied = True

    def redo(self) -> None:
        if self._applied:  # the tool already painted it; QUndoStack.push calls redo once
            self._applied = False
            return
        for rect, _before, after in self._patches:
            self._doc.put_patch(self._name, rect, after)

    def undo(self) -> None:
        for rect, before, _after in self._patches:
            self._doc.put_patch(self._name, rect, before)


class LayerReplaceCommand(QUndoCommand):
    """A whole-layer operation (grow, shrink, clear, invert, import): before/after coverage as uint8 arrays."""

    def __init__(self, doc: Document, name: str, before: np.ndarray, after: np.ndarray, text: str) -> None:
        super().__init__(text)
        self._doc, self._name, self._before, self._after = doc, name, before, after

    def redo(self) -> None:
        self._doc.set_layer_alpha(self._name, self._after)

    def undo(self) -> None:
        self._doc.set_layer_alpha(self._name, self._before)


class FillCommand(QUndoCommand):
    """A fill: the photo's changed box before/after, the attention field, and the mask holes it consumed."""

    def __init__(
        self,
        doc: Document,
        box: tuple[int, int, int, int],
        before: np.ndarray,
        after: np.ndarray,
        attention: AttentionField | None,
        mask_before: np.ndarray,
        mask_after: np.ndarray,
        text: str,
    ) -> None:
        super().__init__(text)
        self._doc, self._box = doc, box
        self._before, self._after = before, after
        self._attention_before, self._attention_after = doc.attention, attention
        self._mask_before, self._mask_after = mask_before, mask_after

    def redo(self) -> None:
        top, left = self._box[0], self._box[1]
        self._doc.set_image_region(top, left, self._after)
        self._doc.set_layer_alpha("mask", self._mask_after)
        self._doc.set_attention(self._attention_after)

    def undo(self) -> None:
        top, left = self._box[0], self._box[1]
        self._doc.set_image_region(top, left, self._before)
        self._doc.set_layer_alpha("mask", self._mask_before)
        self._doc.set_attention(self._attention_before)
