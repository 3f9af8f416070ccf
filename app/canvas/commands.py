"""Undo commands: layer edits (strokes, shapes, mask operations) and fills."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRect
from PySide6.QtGui import QImage, QUndoCommand

from app.document import Document
from inpaint_core.api import AttentionField
from inpaint_core.boxes import Box
from inpaint_core.restore.provenance import FillRecord


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


@dataclass(frozen=True)
class FillPatch:
    """One filled window: the photo's pixels inside ``box``, before and after."""

    box: Box
    image_before: np.ndarray  # (box.height, box.width[, C]) in the photo's layout and dtype
    image_after: np.ndarray


@dataclass(frozen=True)
class LayerCrop:
    """A layer's coverage inside ``box`` before and after a fill (what the fill consumed is cleared)."""

    name: str
    box: Box
    before: np.ndarray  # (box.height, box.width) uint8 coverage
    after: np.ndarray


class FillCommand(QUndoCommand):
    """A fill: per filled window the photo crops before/after, the layer crops it cleared, and the attention field.

    Only crops are kept (as strokes keep only their tiles), never full-frame copies. ``record`` is the fill's
    provenance record: the fills applied are those of the commands below the stack's index
    (app/provenance_controller.py), so undo drops the record and redo restores it."""

    def __init__(
        self,
        doc: Document,
        patches: list[FillPatch],
        layers: list[LayerCrop],
        attention: AttentionField | None,
        text: str,
        record: FillRecord | None = None,
        records: tuple[FillRecord, ...] = (),
    ) -> None:
        super().__init__(text)
        self._doc, self._patches, self._layers = doc, patches, layers
        self._attention_before, self._attention_after = doc.attention, attention
        self.record = record
        # All the fill records this step applies: its own fill's, or those of restored work (several fills).
        self.records: tuple[FillRecord, ...] = (record,) if record is not None else records

    @property
    def patches(self) -> list[FillPatch]:
        return self._patches

    @property
    def layers(self) -> list[LayerCrop]:
        return self._layers

    def redo(self) -> None:
        for p in self._patches:
            self._doc.set_image_region(p.box, p.image_after)
        for crop in self._layers:
            self._doc.set_layer_alpha(crop.name, crop.after, crop.box)
        self._doc.set_attention(self._attention_after)

    def undo(self) -> None:
        for p in self._patches:
            self._doc.set_image_region(p.box, p.image_before)
        for crop in reversed(self._layers):
            self._doc.set_layer_alpha(crop.name, crop.before, crop.box)
        self._doc.set_attention(self._attention_before)
