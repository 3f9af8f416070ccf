"""The editor never loses a user's data (issue #10): saves keep depth, alpha and grey (checked by reading the
file back), lossy formats say what they drop, save errors are one box, a failed save keeps the window open,
quitting is clean, file work runs off the GUI thread, and a killed session's work is offered back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from app import qimage_convert
from app.canvas.commands import FillCommand, FillPatch, LayerReplaceCommand
from app.document import FORBID, GUIDE, MASK
from app.file_controller import SAVE_ERROR_TITLE, is_install_folder
from app.recovery import Snapshot, find_orphans, read_snapshot, write_snapshot
from inpaint_core import image_io
from inpaint_core.api import RESOURCES
from inpaint_core.boxes import Box
from tests.helpers.photos import synthetic_photo

REPO = Path(__file__).resolve().parents[2]
Button = QMessageBox.StandardButton
HOLE = (slice(16, 32), slice(20, 44))  # rows, columns of the hole every fill here uses


def _answers(
    monkeypatch: pytest.MonkeyPatch, by_title: dict[str, Button], log: list[tuple[str, str]]
) -> None:
    """QMessageBox.question/warning answer by title (Cancel for titles not listed) and log (title, text)."""

    def answer(_parent: Any, title: str, text: str, *args: Any, **kwargs: Any) -> Button:
        log.append((title, text))
        return by_title.get(title, Button.Cancel)

    for kind in ("question", "warning"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(answer))
    from app.dialogs import ask_box

    monkeypatch.setattr(ask_box, "ask", answer)


def _save_dialog(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), "")))


def _hole_mask(window: Any) -> np.ndarray:
    alpha = np.zeros((window.doc.height, window.doc.width), np.uint8)
    alpha[HOLE] = 255
    window.doc.undo_stack.push(
        LayerReplaceCommand(window.doc, MASK, window.doc.layer_alpha(MASK), alpha, "Paint mask")
    )
    return alpha > 0


def _fill(window: Any, qtbot: Any) -> None:
    with qtbot.waitSignal(window.inpaint.applied, timeout=20000):
        assert window.inpaint.start("telea")


# ---------------------------------------------------------------------------------------- saves keep data


@pytest.mark.parametrize(
    ("channels", "dtype", "suffix"),
    [
        (1, np.uint8, ".png"),
        (1, np.uint16, ".png"),
        (3, np.uint16, ".png"),
        (4, np.uint8, ".png"),
        (4, np.uint16, ".png"),
        (3, np.uint16, ".tif"),
        (4, np.uint8, ".tif"),
    ],
)
def test_save_over_the_original_keeps_depth_alpha_and_grey(
    channels: int,
    dtype: type,
    suffix: str,
    make_window: Any,
    qtbot: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = synthetic_photo(48, 64, channels=channels, dtype=dtype)
    src = tmp_path / f"photo{suffix}"
    image_io.save_image(src, original)
    window = make_window()
    assert window.files.open_path(src, ask=False)
    hole = _hole_mask(window)
    _fill(window, qtbot)
    log: list[tuple[str, str]] = []
    _answers(monkeypatch, {"Overwrite the original?": Button.Yes}, log)
    assert window.files.save()
    assert "cannot keep" not in log[-1][1]  # the file's own format keeps everything: no loss warned

    saved = image_io.load_image(src).pixels
    # depth, channels (grey stays HxW)
    assert saved.dtype == np.dtype(dtype) and saved.shape == original.shape
    assert np.array_equal(saved[~hole], original[~hole])  # every pixel outside the fill, bit for bit
    assert not np.array_equal(saved[hole], original[hole])  # and the fill itself was saved
    if channels == 4:
        assert np.array_equal(saved[..., 3], original[..., 3])  # alpha untouched, inside the hole too
    assert not window.doc.is_modified


def test_export_to_jpeg_says_what_it_drops(
    make_window: Any, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = synthetic_photo(48, 64, channels=4, dtype=np.uint16)
    src = tmp_path / "deep.png"
    image_io.save_image(src, original)
    window = make_window()
    assert window.files.open_path(src, ask=False)
    out = tmp_path / "copy.jpg"
    _save_dialog(monkeypatch, out)
    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(lambda *a, **k: (90, True)))
    log: list[tuple[str, str]] = []
    _answers(monkeypatch, {}, log)  # Cancel
    assert not window.files.export()
    title, text = log[-1]
    assert title == "Some data will be lost"
    assert "transparency" in text and "16-bit" in text
    assert not out.exists()

    _answers(monkeypatch, {"Some data will be lost": Button.Save}, log)
    assert window.files.export()
    saved = image_io.load_image(out).pixels
    assert saved.dtype == np.uint8 and saved.shape == (48, 64, 3)
    png = tmp_path / "copy.png"  # a format that keeps everything asks nothing
    _save_dialog(monkeypatch, png)
    before = len(log)
    assert window.files.export()
    assert len(log) == before
    assert np.array_equal(image_io.load_image(png).pixels, original)


def test_display_is_a_converted_view_with_a_checkerboard() -> None:
    rgba = np.zeros((20, 24, 4), np.uint16)
    rgba[..., :3] = 65535
    rgba[:, 12:, 3] = 65535  # left half transparent, right half opaque white
    shown = qimage_convert.display_rgb(rgba)
    assert shown.dtype == np.uint8 and shown.shape == (20, 24, 3)
    greys = set(np.unique(shown[:, :12]).tolist())
    assert greys == set(qimage_convert.CHECKER_GREYS)  # transparency shows as the checkerboard
    assert np.all(shown[:, 12:] == 255)
    # patches line up
    assert np.array_equal(qimage_convert.display_rgb(rgba[5:15, 3:11], 3, 5), shown[5:15, 3:11])
    grey = synthetic_photo(10, 12, channels=1, dtype=np.uint16)
    assert np.array_equal(qimage_convert.display_rgb(grey)[..., 1], image_io.to_uint8(grey))


# ------------------------------------------------------------------------------------------- save errors


def test_every_save_and_export_error_is_the_cannot_save_box(
    make_window: Any, unwritable_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    window.doc.undo_stack.push(LayerReplaceCommand(window.doc, MASK, window.doc.layer_alpha(MASK),
                                                   np.full((48, 64), 255, np.uint8), "Paint"))  # fmt: skip
    field_rgba = np.zeros((48, 64, 4), np.uint8)
    window.doc.attention = type("Field", (), {"flow_rgba": lambda self, h, w: field_rgba})()
    log: list[tuple[str, str]] = []
    _answers(monkeypatch, {}, log)
    _save_dialog(monkeypatch, unwritable_folder / "out.png")
    for action in (window.act_save_as, window.act_export, window.act_export_mask, window.act_export_overlay):
        count = len(log)
        action.trigger()
        assert len(log) == count + 1, action.text()
        assert log[-1][0] == SAVE_ERROR_TITLE and "cannot write" in log[-1][1]
    assert window.doc.path is None and window.doc.is_modified  # nothing changed hands


def test_a_failed_save_while_closing_keeps_the_window_open(
    make_window: Any, unwritable_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    _hole_mask(window)
    log: list[tuple[str, str]] = []
    _answers(monkeypatch, {"Unsaved changes": Button.Save}, log)
    _save_dialog(monkeypatch, unwritable_folder / "out.png")
    assert not window.close()
    assert window.isVisible() and window.doc.is_modified
    assert [t for t, _ in log] == ["Unsaved changes", SAVE_ERROR_TITLE]
    assert "cannot write" in log[-1][1]  # it says why


_QUIT_DISCARD = """
import sys
import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
app = QApplication([])
QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
from app.canvas.commands import FillCommand, FillPatch, LayerReplaceCommand
from app.main_window import MainWindow
from app.settings import AppSettings
from inpaint_core.engine import InpaintEngine
window = MainWindow(AppSettings.from_ini(__import__("pathlib").Path(sys.argv[1])), InpaintEngine())
window.show()
window.doc.set_photo(np.zeros((40, 50, 3), np.uint8))
full = np.full((40, 50), 255, np.uint8)
window.doc.undo_stack.push(LayerReplaceCommand(window.doc, "mask", full * 0, full, "Paint"))
QTimer.singleShot(50, window.act_quit.trigger)
sys.exit(app.exec())
"""


def test_quit_then_discard_is_clean(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", _QUIT_DISCARD, str(tmp_path / "settings.ini")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "already deleted" not in result.stderr and "Traceback" not in result.stderr, result.stderr


# ------------------------------------------------------------------------------ saving and opening folders


def test_ctrl_s_says_saved_and_dialogs_start_in_pictures_or_the_last_folder(
    make_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    demo = RESOURCES / "demo" / "coffee.png"
    if demo.exists():
        assert window.files.open_path(demo, ask=False)
        assert is_install_folder(demo)
        assert not is_install_folder(Path(window.files._suggested("edited")))  # never beside the demo photo
        offered: list[str] = []
        monkeypatch.setattr(
            QFileDialog,
            "getSaveFileName",
            staticmethod(lambda _p, _t, path, _f: offered.append(path) or ("", "")),
        )
        window.act_save.trigger()  # Ctrl+S on the demo photo: Save As, outside the program's folder
        assert len(offered) == 1 and not is_install_folder(Path(offered[0]))
    starts: list[str] = []
    monkeypatch.setattr(
        QFileDialog,
        "getOpenFileName",
        staticmethod(lambda _p, _t, start, _f: starts.append(start) or ("", "")),
    )
    window.settings.last_folder = str(RESOURCES)  # even if it was once remembered
    window.files.open_dialog()
    assert not is_install_folder(Path(starts[-1]))

    src = tmp_path / "photos" / "a.png"
    src.parent.mkdir()
    image_io.save_image(src, synthetic_photo(48, 64))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a: (str(src), "")))
    assert window.files.open_dialog()
    assert window.settings.last_folder == str(src.parent.resolve())
    monkeypatch.setattr(
        QFileDialog,
        "getOpenFileName",
        staticmethod(lambda _p, _t, start, _f: starts.append(start) or ("", "")),
    )
    window.files.open_dialog()
    assert starts[-1] == str(src.parent.resolve())

    _hole_mask(window)
    _answers(monkeypatch, {"Overwrite the original?": Button.Yes}, [])
    window.act_save.trigger()  # Ctrl+S
    assert window.statusBar().currentMessage() == "Saved a.png"


# ------------------------------------------------------------------------------------- off the GUI thread


def test_saving_runs_off_the_gui_thread_and_edits_meanwhile_stay_unsaved(
    make_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    _hole_mask(window)
    snapshot = window.doc.image.copy()
    gui_ran = threading.Event()
    seen: dict[str, Any] = {}
    real_save = image_io.save_image

    def slow_save(path: Path, pixels: np.ndarray, **kwargs: Any) -> None:
        seen["thread"] = threading.current_thread()
        assert gui_ran.wait(10), "the GUI thread did not run while the file was written"
        real_save(path, pixels, **kwargs)

    def meanwhile() -> None:  # on the GUI thread, while the save runs
        seen["busy"] = window.file_busy_bar.isVisible() and not window.act_open.isEnabled()
        box = Box(0, 0, 4, 4)
        before = window.doc.image[box.slices].copy()
        patch = FillPatch(box, before, np.zeros_like(before))
        # a fill lands meanwhile
        window.doc.undo_stack.push(FillCommand(window.doc, [patch], [], None, "Fill"))
        gui_ran.set()

    monkeypatch.setattr(image_io, "save_image", slow_save)
    out = tmp_path / "saved.png"
    _save_dialog(monkeypatch, out)
    QTimer.singleShot(0, meanwhile)
    assert window.files.save_as()
    assert seen["thread"] is not threading.main_thread() and seen["busy"]
    assert np.array_equal(image_io.load_image(out).pixels, snapshot)  # the snapshot, not the later edit
    assert window.doc.is_modified  # the edit made while saving is not in the file: still unsaved
    assert window.act_open.isEnabled() and not window.file_busy_bar.isVisible()


def test_an_edit_while_a_photo_loads_is_asked_about_again(
    make_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    src = tmp_path / "next.png"
    image_io.save_image(src, synthetic_photo(30, 40))
    real_load = image_io.load_image
    edited = threading.Event()

    def slow_load(path: Any) -> Any:
        assert edited.wait(10)
        return real_load(path)

    def paint() -> None:
        _hole_mask(window)
        edited.set()

    monkeypatch.setattr(image_io, "load_image", slow_load)
    log: list[tuple[str, str]] = []
    _answers(monkeypatch, {}, log)  # Cancel: keep the painted document
    QTimer.singleShot(0, paint)
    assert not window.files.open_path(src, ask=False)
    assert [t for t, _ in log] == ["Unsaved changes"]
    assert window.doc.width == 64 and window.doc.is_modified  # the painted document is still there


# ---------------------------------------------------------------------------------------- crash recovery

_KILLED_SESSION = """
import sys, time
from pathlib import Path
import numpy as np
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.canvas.commands import FillCommand, FillPatch, LayerReplaceCommand
from app.main_window import MainWindow
from app.settings import AppSettings
from inpaint_core.engine import InpaintEngine
folder, photo = Path(sys.argv[1]), Path(sys.argv[2])
window = MainWindow(AppSettings.from_ini(folder / "settings.ini"), InpaintEngine())
window.show()
assert window.files.open_path(photo, ask=False)
doc = window.doc
h, w = doc.height, doc.width

def paint(layer, rows, cols):
    alpha = doc.layer_alpha(layer)
    alpha[rows, cols] = 255
    doc.undo_stack.push(LayerReplaceCommand(doc, layer, doc.layer_alpha(layer), alpha, "Paint " + layer))

def wait_for(signal_owner, start):
    done = []
    signal_owner.written.connect(lambda _t: done.append(1))
    start()
    deadline = time.monotonic() + 60
    while not done:
        if time.monotonic() > deadline:
            sys.exit("no recovery copy was written")
        app.processEvents()

paint("guide", slice(2, 4), slice(0, w))
paint("forbid", slice(40, 46), slice(0, 10))
paint("mask", slice(16, 32), slice(20, 44))
wait_for(window.recovery, lambda: window.inpaint.start("telea"))  # the copy written after the fill
paint("mask", slice(5, 9), slice(50, 60))  # a stroke after the fill: the timer's copy holds it
wait_for(window.recovery, window.recovery.autosave_if_needed)
np.savez(folder / "expected.npz", pixels=doc.image, mask=doc.layer_alpha("mask"),
         guide=doc.layer_alpha("guide"), forbid=doc.layer_alpha("forbid"))
print("ready", flush=True)
app.exec()
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_killed_session_is_offered_back(
    make_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo_path = tmp_path / "photo.png"
    image_io.save_image(photo_path, synthetic_photo(48, 64, channels=4, dtype=np.uint16))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SESSION, str(tmp_path), str(photo_path)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready", child.communicate(timeout=60)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=60)
    expected = dict(np.load(tmp_path / "expected.npz"))

    window = make_window()  # same settings folder as the killed session
    log: list[tuple[str, str]] = []
    _answers(monkeypatch, {"Restore unsaved work?": Button.Yes}, log)
    assert window.offer_recovery()
    assert "photo.png" in log[-1][1] and "did not close properly" in log[-1][1]
    doc = window.doc
    assert doc.path == photo_path and doc.is_modified
    assert doc.image.dtype == np.uint16 and np.array_equal(doc.image, expected["pixels"])
    for layer in (MASK, GUIDE, FORBID):
        assert np.array_equal(doc.layer_alpha(layer), expected[layer]), layer
    assert np.array_equal(doc.original, image_io.load_image(photo_path).pixels)  # compare shows the file
    window.doc.undo_stack.undo()  # the restored work is one step over the file as it is on disk
    assert np.array_equal(doc.image, doc.original)
    window.doc.undo_stack.redo()
    assert find_orphans(window.settings.recovery_folder) == []  # taken: not offered twice
    assert not window.offer_recovery()


_TERMINATED_SESSION = """
import sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.canvas.commands import LayerReplaceCommand
from app.main import quit_on_signal
from app.main_window import MainWindow
from app.settings import AppSettings
from inpaint_core.engine import InpaintEngine
folder, photo, edit = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "edit"
window = MainWindow(AppSettings.from_ini(folder / "settings.ini"), InpaintEngine())
window.show()
assert window.files.open_path(photo, ask=False)
if edit:  # a stroke no autosave has seen: only the signal's copy can hold it
    alpha = window.doc.layer_alpha("mask")
    alpha[3:9, 5:40] = 255
    window.doc.undo_stack.push(LayerReplaceCommand(window.doc, "mask", window.doc.layer_alpha("mask"), alpha, "Paint"))
quit_on_signal(app, window)
print("ready", flush=True)
sys.exit(app.exec())
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize(
    ("signum", "edit"), [(signal.SIGTERM, True), (signal.SIGINT, True), (signal.SIGTERM, False)]
)
def test_a_terminated_session_keeps_its_unsaved_work_and_exits_with_the_signals_status(
    make_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, edit: bool
) -> None:
    photo_path = tmp_path / "photo.png"
    image_io.save_image(photo_path, synthetic_photo(48, 64))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.Popen(
        [sys.executable, "-c", _TERMINATED_SESSION, str(tmp_path), str(photo_path), "edit" if edit else "-"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready", child.communicate(timeout=60)
    child.send_signal(signum)
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 128 + signum, err  # a quit, not a crash: the handler ran
    assert "Traceback" not in err

    window = make_window()  # same settings folder as the terminated session
    log: list[tuple[str, str]] = []
    _answers(monkeypatch, {"Restore unsaved work?": Button.Yes}, log)
    if not edit:  # nothing was unsaved: nothing is offered, nothing is left behind
        assert not window.offer_recovery() and log == []
        assert list(window.settings.recovery_folder.glob("*")) == []
        return
    assert window.offer_recovery()
    assert "was asked to quit" in log[-1][1] and "did not close properly" not in log[-1][1]
    expected = np.zeros((48, 64), np.uint8)
    expected[3:9, 5:40] = 255
    assert window.doc.path == photo_path
    assert np.array_equal(window.doc.layer_alpha(MASK), expected)


def test_recovery_copies_are_removed_once_saved_and_kept_while_their_session_runs(
    make_window: Any, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    _hole_mask(window)
    with qtbot.waitSignal(window.recovery.written, timeout=10000):
        window.recovery.save_now()
    assert window.recovery.file.exists()
    assert find_orphans(window.settings.recovery_folder) == []  # its session (this process) still runs
    snap = read_snapshot(window.recovery.file)
    assert np.array_equal(snap.layers[MASK], window.doc.layer_alpha(MASK))
    _save_dialog(monkeypatch, tmp_path / "done.png")
    assert window.files.save_as()
    window.recovery.pool.waitForDone()
    assert not window.recovery.file.exists()  # saved: nothing left to recover


def test_a_damaged_recovery_copy_is_refused_not_loaded(tmp_path: Path) -> None:
    file = tmp_path / "x.recovery"
    write_snapshot(file, Snapshot(synthetic_photo(8, 8), {MASK: np.zeros((8, 8), np.uint8)}))
    assert read_snapshot(file).pixels.shape == (8, 8, 3)
    file.write_bytes(file.read_bytes()[:100])
    with pytest.raises(ValueError, match="damaged"):
        read_snapshot(file)


def test_the_restore_question_can_wait_and_names_the_photo_behind_it(
    make_window: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.dialogs import ask_box

    photo_path = tmp_path / "scan.png"
    image_io.save_image(photo_path, synthetic_photo(48, 64))
    window = make_window()
    folder = window.settings.recovery_folder
    copy = folder / f"left{'.recovery'}"
    write_snapshot(
        copy, Snapshot(synthetic_photo(48, 64), {MASK: np.zeros((48, 64), np.uint8)}, str(photo_path))
    )
    behind: list[tuple[str, str, dict[Any, str]]] = []

    def later(_parent: Any, title: str, text: str, labels: dict[Any, str], default: Any) -> Button:
        behind.append((window.windowTitle(), window.view._placeholder, labels))
        return Button.Cancel

    monkeypatch.setattr(ask_box, "ask", later)
    assert not window.offer_recovery()
    title, placeholder, labels = behind[-1]
    assert title.startswith("scan.png") and "scan.png" in placeholder  # not "untitled" and a 1x1 image
    assert set(labels.values()) == {"Restore", "Discard", "Later"}
    assert window.view._placeholder == ""  # gone once answered
    assert copy.exists() and len(find_orphans(folder)) == 1  # Later: kept, offered at the next start
    for orphan in find_orphans(folder):
        orphan.release()
    assert not window.offer_recovery() and copy.exists()


def test_any_edit_is_copied_for_recovery_soon_after_it(make_window: Any, qtbot: Any) -> None:
    """A stroke, not only a fill, reaches the recovery copy once the edits pause (off the GUI thread)."""
    from app.canvas.commands import LayerReplaceCommand
    from app.recovery import AUTOSAVE_DEBOUNCE_MS

    window = make_window()
    doc = window.doc
    alpha = doc.layer_alpha(MASK)
    alpha[3:9, 5:40] = 255
    with qtbot.waitSignal(window.recovery.written, timeout=AUTOSAVE_DEBOUNCE_MS + 5000):
        doc.undo_stack.push(LayerReplaceCommand(doc, MASK, doc.layer_alpha(MASK), alpha, "Paint"))
    assert np.array_equal(read_snapshot(window.recovery.file).layers[MASK], alpha)
    # A burst of edits makes one copy, after the last.
    written: list[float] = []
    window.recovery.written.connect(written.append)
    for row in range(10, 20):
        alpha[row, 0:5] = 255
        doc.undo_stack.push(LayerReplaceCommand(doc, MASK, doc.layer_alpha(MASK), alpha.copy(), "Paint"))
    qtbot.waitUntil(lambda: len(written) == 1, timeout=AUTOSAVE_DEBOUNCE_MS + 5000)
    qtbot.wait(AUTOSAVE_DEBOUNCE_MS + 200)
    assert len(written) == 1
    assert np.array_equal(read_snapshot(window.recovery.file).layers[MASK], alpha)
