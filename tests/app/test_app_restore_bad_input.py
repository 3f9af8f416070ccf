"""The editor's restoration and provenance under failure (issue #24): a failed or killed save leaves no record of
fills the photo on disk does not have, and a recovery copy knows which photo it belongs to."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from app.canvas.commands import LayerReplaceCommand
from app.document import MASK
from app.file_controller import SAVE_ERROR_TITLE
from inpaint_core import image_io
from inpaint_core.files import atomic_write
from inpaint_core.restore.provenance import sidecar_path
from tests.app.test_app_bad_input import _answers
from tests.helpers.photos import synthetic_photo

REPO = Path(__file__).resolve().parents[2]
Button = QMessageBox.StandardButton


def _paint(window: Any, rows: slice, cols: slice) -> None:
    """One mask stroke (as an undoable layer change) over rows x cols of the 48x64 test photo."""
    alpha = np.zeros((48, 64), np.uint8)
    alpha[rows, cols] = 255
    window.doc.undo_stack.push(
        LayerReplaceCommand(window.doc, MASK, window.doc.layer_alpha(MASK), alpha, "Paint")
    )


def _fill_telea(window: Any, qtbot: Any) -> None:
    with qtbot.waitSignal(window.inpaint.applied, timeout=20000):
        assert window.inpaint.start("telea")


def _filled_photo(make_window: Any, qtbot: Any, path: Path) -> Any:
    """A window on the photo file `path` with one telea fill applied."""
    image_io.save_image(path, synthetic_photo(48, 64))
    window = make_window()
    assert window.files.open_path(path, ask=False)
    _paint(window, slice(16, 32), slice(20, 44))
    _fill_telea(window, qtbot)
    assert window.restore.provenance.fills()
    return window


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_disk_full_while_saving_leaves_the_photo_and_no_record(
    make_window: Any, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = tmp_path / "photo.png"
    window = _filled_photo(make_window, qtbot, photo)
    before = photo.read_bytes()

    def full_disk(path: Path, mode: str = "wb", **kwargs: object) -> object:
        if Path(path).name == photo.name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return atomic_write(path, mode, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(image_io, "atomic_write", full_disk)
    log: list[tuple[str, str]] = []
    _answers(monkeypatch, {"Overwrite the original?": Button.Yes}, log)
    assert not window.files.save()
    assert [t for t, _ in log] == ["Overwrite the original?", SAVE_ERROR_TITLE]
    assert "No space left" in log[-1][1]
    assert photo.read_bytes() == before  # the photo is as it was ...
    assert not sidecar_path(photo).exists()  # ... and no record claims fills it does not have
    assert _hidden(tmp_path) == [] and window.doc.is_modified
    assert window.restore.provenance.last_sidecar is None

    monkeypatch.setattr(image_io, "atomic_write", atomic_write)
    assert window.files.save()  # the retry writes both
    assert sidecar_path(photo).is_dir() and window.restore.provenance.last_sidecar == sidecar_path(photo)


def test_a_failed_save_keeps_the_earlier_record_it_carries(
    make_window: Any, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A photo reopened with its record (its fills carried into the session) and filled again: a save that fails
    leaves that record exactly as it was (the new one was staged on the file worker and is dropped), and the
    retry replaces it with one that holds both fills."""
    photo = tmp_path / "photo.png"
    log: list[tuple[str, str]] = []
    _answers(monkeypatch, {"Overwrite the original?": Button.Yes}, log)
    assert _filled_photo(make_window, qtbot, photo).files.save()
    record = sidecar_path(photo) / "provenance.json"
    earlier = record.read_bytes()
    window = make_window()
    assert window.files.open_path(photo, ask=False)
    assert window.restore.provenance.earlier_count() == 1
    _paint(window, slice(2, 10), slice(2, 12))
    _fill_telea(window, qtbot)
    before = photo.read_bytes()

    def full_disk(path: Path, mode: str = "wb", **kwargs: object) -> object:
        if Path(path).name == photo.name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return atomic_write(path, mode, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(image_io, "atomic_write", full_disk)
    log.clear()
    assert not window.files.save()
    assert [t for t, _ in log] == ["Overwrite the original?", SAVE_ERROR_TITLE]  # no word of a record
    assert photo.read_bytes() == before and record.read_bytes() == earlier
    assert _hidden(tmp_path) == []
    assert window.restore.provenance.last_sidecar is None

    monkeypatch.setattr(image_io, "atomic_write", atomic_write)
    assert window.files.save()
    assert len(json.loads(record.read_text())["fills"]) == 2
    assert window.restore.provenance.last_sidecar == sidecar_path(photo)


# An editor that fills a photo, then stalls inside the photo's write on Save (its sidecar already staged).
_KILLED_WHILE_SAVING = """
import sys, time
from pathlib import Path
import numpy as np
from PySide6.QtWidgets import QApplication, QMessageBox
app = QApplication([])
from app.canvas.commands import LayerReplaceCommand
from app.dialogs import ask_box
from app.main_window import MainWindow
from app.settings import AppSettings
from inpaint_core import image_io
from inpaint_core.engine import InpaintEngine
folder, photo = Path(sys.argv[1]), Path(sys.argv[2])
QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes)
real = image_io.atomic_write
def stalling(path, mode="wb", **kwargs):
    if Path(path).name == photo.name:
        print("writing", flush=True)
        time.sleep(600)
    return real(path, mode, **kwargs)
image_io.atomic_write = stalling
window = MainWindow(AppSettings.from_ini(folder / "settings.ini"), InpaintEngine())
window.show()
assert window.files.open_path(photo, ask=False)
alpha = np.zeros((48, 64), np.uint8)
alpha[16:32, 20:44] = 255
window.doc.undo_stack.push(LayerReplaceCommand(window.doc, "mask", window.doc.layer_alpha("mask"), alpha, "Paint"))
window.inpaint.applied.connect(window.files.save)
window.inpaint.start("telea")
sys.exit(app.exec())
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_save_killed_midway_leaves_no_record_and_its_leftovers_are_swept(
    make_window: Any, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = tmp_path / "photo.png"
    image_io.save_image(photo, synthetic_photo(48, 64))
    before = photo.read_bytes()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WHILE_SAVING, str(tmp_path), str(photo)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "writing", child.communicate(timeout=60)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)
    assert photo.read_bytes() == before
    assert not sidecar_path(photo).exists()  # the record was staged, never committed without its photo
    assert any(name.startswith(".photo.provenance.dfs-") for name in _hidden(tmp_path))

    # The next save of that photo sweeps what the killed one left.
    window = make_window()
    assert window.files.open_path(photo, ask=False)
    _paint(window, slice(16, 32), slice(20, 44))
    _fill_telea(window, qtbot)
    log: list[tuple[str, str]] = []
    _answers(
        monkeypatch,
        {"Overwrite the original?": Button.Yes, "Replace the provenance record?": Button.Yes},
        log,
    )
    assert window.files.save()
    assert sidecar_path(photo).is_dir()
    assert [name for name in _hidden(tmp_path) if name.startswith(".photo")] == []


# ------------------------------------------------------------------------------------------- recovery copies


def _left_by_a_crash(make_window: Any, qtbot: Any, photo: Path) -> np.ndarray:
    """A session on `photo` with an unsaved stroke whose recovery copy is left as a crash leaves it; returns
    the pixels of the work."""
    window = make_window()
    assert window.files.open_path(photo, ask=False)
    _paint(window, slice(3, 9), slice(5, 40))
    with qtbot.waitSignal(window.recovery.written, timeout=10000):
        window.recovery.save_now()
    window.recovery.shutdown(keep=True)  # the copy stays and its lock is free, as after a kill
    return window.doc.image.copy()


def test_a_recovery_copy_is_not_restored_over_another_picture(
    make_window: Any, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = tmp_path / "photo.png"
    image_io.save_image(photo, synthetic_photo(48, 64, seed=1))
    work = _left_by_a_crash(make_window, qtbot, photo)
    other = synthetic_photo(48, 64, seed=2)
    image_io.save_image(photo, other, overwrite=True)  # another picture of the same size took its name

    window = make_window()
    log: list[tuple[str, str]] = []
    _answers(monkeypatch, {"Restore unsaved work?": Button.Yes}, log)
    assert window.offer_recovery()
    assert "photo.png has changed on disk" in log[-1][1]
    doc = window.doc
    assert np.array_equal(doc.image, work) and np.array_equal(doc.original, work)  # not the other picture
    assert doc.path is None  # Save asks where, never over the other picture
    assert np.array_equal(image_io.load_image(photo).pixels, other)


def test_a_recovery_copy_of_an_unchanged_photo_is_restored_over_it(
    make_window: Any, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = tmp_path / "photo.png"
    image_io.save_image(photo, synthetic_photo(48, 64, seed=1))
    os.utime(photo, ns=(1_000_000_000, 1_000_000_000))
    work = _left_by_a_crash(make_window, qtbot, photo)
    os.utime(photo)  # touched, not changed: the content decides

    window = make_window()
    log: list[tuple[str, str]] = []
    _answers(monkeypatch, {"Restore unsaved work?": Button.Yes}, log)
    assert window.offer_recovery()
    assert "has changed" not in log[-1][1]
    assert window.doc.path == photo and np.array_equal(window.doc.image, work)
    assert np.array_equal(window.doc.original, image_io.load_image(photo).pixels)


@pytest.mark.parametrize("answer", [Button.Ok, Button.Discard])
def test_a_damaged_recovery_copy_is_reported_once(
    make_window: Any, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: Button
) -> None:
    photo = tmp_path / "photo.png"
    image_io.save_image(photo, synthetic_photo(48, 64))
    _left_by_a_crash(make_window, qtbot, photo)
    folder = make_window().settings.recovery_folder
    (copy,) = folder.glob("*.recovery")
    copy.write_bytes(copy.read_bytes()[:100])
    copy.with_suffix(".ended").write_text("signal")  # its session was asked to quit: the marker goes with it

    log: list[tuple[str, str]] = []
    _answers(monkeypatch, {"Cannot restore": answer}, log)
    assert not make_window().offer_recovery()
    assert [t for t, _ in log] == ["Cannot restore"] and "damaged" in log[0][1] and "moved aside" in log[0][1]
    assert not make_window().offer_recovery()  # the next start says nothing
    assert len(log) == 1
    left = sorted(p.name for p in folder.iterdir())
    assert left == ([] if answer == Button.Discard else [copy.name + ".damaged"])
