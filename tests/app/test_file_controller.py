"""Open, save, export, mask import/export; errors keep the document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from inpaint_core import image_io
from inpaint_core.boxes import Box
from tests.app.qt_helpers import drag
from tests.helpers.photos import synthetic_photo


def _save_dialog(monkeypatch: pytest.MonkeyPatch, path: Path | str) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), "")))


def test_save_as_and_reload_round_trip(
    make_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    window.doc.set_image_region(Box(5, 5, 9, 9), np.full((4, 4, 3), 200, np.uint8))
    window.doc.undo_stack.resetClean()  # pretend an edit is unsaved
    out = tmp_path / "edited.png"
    _save_dialog(monkeypatch, out)
    assert window.files.save_as()
    assert np.array_equal(image_io.load_image(out).pixels, window.doc.image)
    assert window.doc.path == out and not window.doc.is_modified
    assert window.files.open_path(out)
    assert np.array_equal(window.doc.image, image_io.load_image(out).pixels)
    assert str(out.resolve()) in window.settings.recent_files


def test_jpeg_export_keeps_exif_and_icc(
    make_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    icc = b"\0" * 128  # opaque bytes are enough: PIL stores the profile as is
    Image.fromarray(synthetic_photo()).save(src, exif=exif.tobytes(), icc_profile=icc, quality=95)
    window = make_window()
    assert window.files.open_path(src)
    out = tmp_path / "export.jpg"
    _save_dialog(monkeypatch, out)
    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(lambda *a, **k: (77, True)))
    assert window.files.export()
    with Image.open(out) as im:
        assert im.getexif().get(0x010F) == "TestCam"
        assert im.info.get("icc_profile") == icc
    assert window.settings.jpeg_quality == 77
    assert window.doc.path == src  # export does not re-target the document


def test_save_never_overwrites_the_original_without_asking(
    make_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dialogs: Any
) -> None:
    src = tmp_path / "orig.png"
    Image.fromarray(synthetic_photo()).save(src)
    original_bytes = src.read_bytes()
    window = make_window()
    assert window.files.open_path(src)
    window.doc.set_image_region(Box(0, 0, 8, 8), np.zeros((8, 8, 3), np.uint8))
    dialogs.answer = QMessageBox.StandardButton.No
    _save_dialog(monkeypatch, "")  # ... and then cancels the Save As dialog
    assert not window.files.save()
    assert src.read_bytes() == original_bytes
    assert dialogs.calls[-1][1] == "Overwrite the original?"
    dialogs.answer = QMessageBox.StandardButton.Yes
    assert window.files.save()
    assert np.array_equal(image_io.load_image(src).pixels, window.doc.image)


def test_a_corrupt_file_shows_an_error_and_keeps_the_document(
    make_window: Any, tmp_path: Path, dialogs: Any
) -> None:
    window = make_window()
    window.tool_settings.set_size(8)
    drag(window, [(10.0, 10.0), (20.0, 10.0)])
    before_image, before_mask = window.doc.image.copy(), window.doc.mask_array()
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    assert not window.files.open_path(bad, ask=False)
    assert dialogs.calls and dialogs.calls[-1][0] == "warning"
    assert "broken.png" in dialogs.calls[-1][2]
    assert np.array_equal(window.doc.image, before_image)
    assert np.array_equal(window.doc.mask_array(), before_mask)
    assert window.doc.undo_stack.count() == 1


def test_mask_export_import_round_trip(make_window: Any, tmp_path: Path, dialogs: Any) -> None:
    window = make_window()
    window.tool_settings.set_size(8)
    drag(window, [(10.0, 10.0), (30.0, 30.0)])
    mask = window.doc.mask_array()
    out = tmp_path / "mask.png"
    assert window.files.export_mask_to(out)
    window.mask_operation("clear")
    assert window.files.import_mask_from(out)
    assert np.array_equal(window.doc.mask_array(), mask)
    wrong = tmp_path / "small.png"
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(wrong)
    assert not window.files.import_mask_from(wrong)
    assert "mask" in dialogs.calls[-1][1].lower()


def test_drop_opens_the_file(make_window: Any, tmp_path: Path) -> None:
    src = tmp_path / "dropped.png"
    Image.fromarray(synthetic_photo(30, 40)).save(src)
    window = make_window()
    window.view.file_dropped.emit(str(src))
    assert window.doc.path == src and window.doc.width == 40


def test_saving_a_cmyk_photo_says_it_becomes_rgb(
    make_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dialogs: Any
) -> None:
    src = tmp_path / "print.jpg"
    Image.fromarray(synthetic_photo()).convert("CMYK").save(src, quality=95)
    original_bytes = src.read_bytes()
    window = make_window()
    assert window.files.open_path(src)
    assert window.doc.converted_from == "CMYK" and window.doc.image.shape[2] == 3
    dialogs.answer = QMessageBox.StandardButton.No
    _save_dialog(monkeypatch, "")
    assert not window.files.save()
    assert src.read_bytes() == original_bytes
    assert dialogs.calls[-1][1] == "Overwrite the original?" and "CMYK colours" in dialogs.calls[-1][2]
    window.doc.set_photo(synthetic_photo())  # another photo: nothing to warn about
    assert window.doc.converted_from is None
