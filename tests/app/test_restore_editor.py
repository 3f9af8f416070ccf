"""Restoration and provenance in the editor: the live scratch proposal and its one-step apply, the tone setting,
fill records that follow undo/redo, the sidecar and note written on save, and the source-reuse overlay."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QFileDialog, QMessageBox

import app.restore_controller as restore_controller
from app import qimage_convert
from app.document import MASK
from app.widgets.attention_panel import FLOW, REUSE
from inpaint_core.boxes import Box
from inpaint_core.image_io import load_image, save_image
from inpaint_core.restore.provenance import not_original, sidecar_path
from inpaint_core.restore.reuse import reuse_density, reuse_rgba
from inpaint_core.restore.scratches import detect_scratches
from inpaint_core.restore.synthetic import Damage
from tests.app.qt_helpers import drag
from tests.conftest import REPO
from tests.helpers.fake_engine import FakeEngine
from tests.helpers.photos import damaged_photo, synthetic_photo

SIZE = 160


def scratched(seed: int = 0) -> Damage:
    """A sky-like photo with three 2 px scratches and a few specks (the detector's easy case)."""
    return damaged_photo(SIZE, SIZE, seed, scratch_width=2.0, speck_sizes=(3.0, 6.0))


def _wait_proposal(qtbot: Any, window: Any, action: Any) -> np.ndarray:
    with qtbot.waitSignal(window.restore.scratches.proposal_changed, timeout=30000):
        action()
    proposal = window.restore.scratches.proposal
    assert proposal is not None
    return proposal


def _set_mask(window: Any, box: Box) -> np.ndarray:
    alpha = np.zeros((window.doc.height, window.doc.width), np.uint8)
    alpha[box.slices] = 255
    window.doc.set_layer_alpha(MASK, alpha)
    return alpha > 0


def _fill(window: Any, qtbot: Any, box: Box, engine: str) -> None:
    _set_mask(window, box)
    window.settings.engine = engine
    with qtbot.waitSignal(window.inpaint.applied, timeout=60000):
        assert window.start_inpaint() > 0


def _save_as(window: Any, monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), "PNG (*.png)"))
    )
    assert window.files.save_as()


# -- scratches ----------------------------------------------------------------------------------------------------
def test_proposal_appears_live_and_follows_the_sliders(make_window: Any, qtbot: Any) -> None:
    damage = scratched()
    window = make_window(image=damage.image)
    window.settings.scratch_method = "classical"  # this test compares with the classical detector's own masks
    restore = window.restore
    proposal = _wait_proposal(qtbot, window, restore.act_find_scratches.trigger)
    # Shown, not applied: the mask and the history are untouched until the user applies it.
    assert restore.proposal_item.shown and restore.panel.find_button.isChecked()
    assert not window.doc.mask_array().any() and window.doc.undo_stack.count() == 0
    # The photo is smaller than the preview side, so the preview is the full-resolution detection.
    assert np.array_equal(proposal, detect_scratches(damage.image, 0.5, 8))
    recall = (proposal & damage.truth).sum() / damage.truth.sum()
    precision = (proposal & damage.truth).sum() / proposal.sum()
    # Measured 0.76 and above 0.5 (seeded): the wiring is tested here, the detector in tests/core; the proposal is
    # grown by 1 px, so precision stays below 1.
    assert recall > 0.7 and precision > 0.5

    counts = {}
    for value in (0, 100, 50):
        proposal = _wait_proposal(qtbot, window, lambda v=value: restore.panel.sensitivity.setValue(v))
        counts[value] = int(proposal.sum())
        assert np.array_equal(proposal, detect_scratches(damage.image, value / 100, 8))
    assert counts[0] <= counts[50] <= counts[100] and counts[0] < counts[100]
    assert window.settings.scratch_sensitivity == 0.5

    proposal = _wait_proposal(qtbot, window, lambda: restore.panel.max_width.setValue(3))
    assert np.array_equal(proposal, detect_scratches(damage.image, 0.5, 3))
    assert window.settings.scratch_max_width == 3

    restore.panel.find_button.click()  # hide
    assert not restore.proposal_item.shown and restore.scratches.proposal is None


def test_apply_replaces_or_adds_to_the_mask_as_one_undo_step(make_window: Any, qtbot: Any) -> None:
    damage = scratched(seed=1)
    window = make_window(image=damage.image)
    restore, stack = window.restore, window.doc.undo_stack
    window.tool_settings.set_size(12)
    drag(window, [(20.0, 140.0), (60.0, 140.0)])  # a stroke of the user's own
    painted = window.doc.layer_alpha(MASK)
    assert stack.count() == 1 and painted.any()

    proposal = _wait_proposal(qtbot, window, restore.find_scratches)
    restore.panel.add_button.click()
    added = window.doc.layer_alpha(MASK)
    assert stack.count() == 2 and stack.undoText() == "Add scratches to mask"
    assert np.array_equal(added, np.maximum(painted, np.where(proposal, 255, 0).astype(np.uint8)))
    assert not restore.proposal_item.shown and not restore.scratches.active
    stack.undo()
    assert np.array_equal(window.doc.layer_alpha(MASK), painted)
    stack.redo()
    assert np.array_equal(window.doc.layer_alpha(MASK), added)

    proposal = _wait_proposal(qtbot, window, restore.find_scratches)
    restore.panel.replace_button.click()
    assert stack.count() == 3 and stack.undoText() == "Scratches as mask"
    assert np.array_equal(window.doc.layer_alpha(MASK) > 0, proposal)
    stack.undo()
    assert np.array_equal(window.doc.layer_alpha(MASK), added)


def test_apply_detects_at_full_resolution_on_the_worker(
    make_window: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(restore_controller, "PREVIEW_SIDE", 64)  # the preview is a downscaled analysis
    damage = scratched(seed=2)
    window = make_window(image=damage.image)
    window.settings.scratch_method = "classical"  # the learned detector has no preview size
    restore, stack = window.restore, window.doc.undo_stack
    _wait_proposal(qtbot, window, restore.find_scratches)
    assert restore.scratches.analysis is not None and restore.scratches.analysis.analysed_shape == (64, 64)
    assert restore.scratches.proposal.shape == (64, 64)  # thresholded at the preview size ...
    assert restore.proposal_item.scale() == pytest.approx(SIZE / 64)  # ... and stretched over the photo
    with qtbot.waitSignal(stack.indexChanged, timeout=30000):
        restore.panel.replace_button.click()
    assert stack.count() == 1
    assert np.array_equal(window.doc.layer_alpha(MASK) > 0, detect_scratches(damage.image, 0.5, 8))

    # A detection whose photo is replaced before it returns is dropped: nothing is pushed.
    _wait_proposal(qtbot, window, restore.find_scratches)
    with qtbot.waitSignal(restore.scratches.busy_changed, timeout=30000):
        restore.scratches.apply()
        window.doc.set_photo(synthetic_photo(SIZE, SIZE))
    qtbot.waitUntil(lambda: not restore.scratches.busy, timeout=30000)
    assert stack.count() == 0 and not window.doc.mask_array().any()


def test_learned_detector_proposes_and_the_slider_does_not_rerun_it(
    make_window: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch, shipped_detector: Path
) -> None:
    from inpaint_core.restore.detector import analyse_damage, detect_damage

    monkeypatch.setattr(restore_controller, "PREVIEW_SIDE", 64)  # the learned detector ignores it
    calls: list[str] = []

    def counting(image: np.ndarray, method: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(method)
        return analyse_damage(image, method, *args, **kwargs)

    monkeypatch.setattr(restore_controller, "analyse_damage", counting)
    damage = scratched(seed=3)
    window = make_window(image=damage.image)
    restore, stack = window.restore, window.doc.undo_stack
    proposal = _wait_proposal(qtbot, window, restore.act_find_scratches.trigger)
    assert restore.panel.detector_label.text() == "Detector: learned"
    analysis = restore.scratches.analysis
    assert analysis is not None and analysis.method == "learned" and analysis.analysed_shape == (SIZE, SIZE)
    expected = analyse_damage(damage.image, "learned").mask(0.5)
    assert expected.any() and np.array_equal(proposal, expected)
    assert not np.array_equal(proposal, detect_scratches(damage.image, 0.5, 8))  # not the classical one
    for value in (100, 0, 50):  # the slider re-thresholds the same logits: no new analysis
        proposal = _wait_proposal(qtbot, window, lambda v=value: restore.panel.sensitivity.setValue(v))
        assert np.array_equal(proposal, analysis.mask(value / 100))
    assert calls == ["auto"] and restore.scratches.analysis is analysis
    # Apply reuses the full-size analysis: pushed at once, no detection on the worker
    restore.panel.replace_button.click()
    assert stack.count() == 1 and not restore.scratches.busy and calls == ["auto"]
    assert np.array_equal(window.doc.layer_alpha(MASK) > 0, detect_damage(damage.image, 0.5, 8, "learned"))


def test_the_detector_combo_switches_persists_and_says_what_runs(
    make_window: Any, qtbot: Any, app_settings: Any, shipped_detector: Path
) -> None:
    from app.settings import AppSettings

    damage = scratched(seed=4)
    window = make_window(image=damage.image)
    restore = window.restore
    panel = restore.panel
    assert panel.method.currentData() == "auto" and panel.detector_label.text() == "Detector: learned"
    _wait_proposal(qtbot, window, restore.find_scratches)
    proposal = _wait_proposal(
        qtbot, window, lambda: panel.method.setCurrentIndex(panel.method.findData("classical"))
    )
    assert restore.scratches.analysis.method == "classical"
    assert np.array_equal(proposal, detect_scratches(damage.image, 0.5, 8))
    assert panel.detector_label.text() == "Detector: classical"
    assert window.settings.scratch_method == "classical"
    assert AppSettings(app_settings.store).scratch_method == "classical"  # persisted
    app_settings.store.setValue("restore/scratch_method", "quantum")
    assert window.settings.scratch_method == "auto"  # a stored value it does not know: the default


def test_without_learned_weights_the_panel_says_so(
    make_window: Any, qtbot: Any, no_shipped_weights: Path, dialogs: Any
) -> None:
    window = make_window(image=scratched(seed=5).image)
    restore, panel = window.restore, window.restore.panel
    assert panel.detector_label.text() == "Detector: classical (no learned weights installed)"
    panel.method.setCurrentIndex(panel.method.findData("learned"))
    assert "not installed" in panel.detector_label.text() and "bold" in panel.detector_label.styleSheet()
    with qtbot.waitSignal(restore.scratches.failed, timeout=30000) as failed:
        restore.find_scratches()
    (text,) = failed.args
    assert "weights are not installed" in text and "Classical as the detector in the Restore panel" in text
    assert dialogs.calls and dialogs.calls[-1][1] == "Scratch detection failed"
    assert not restore.scratches.active and not window.doc.mask_array().any()


# -- tone -----------------------------------------------------------------------------------------------------
def test_tone_is_described_and_the_checkbox_reaches_the_request(make_window: Any) -> None:
    grey = synthetic_photo().mean(axis=2, keepdims=True)
    sepia = np.clip(grey * np.array([1.07, 0.95, 0.78]) + np.array([8, 3, 0]), 0, 255).astype(np.uint8)
    window = make_window(image=sepia)
    panel = window.restore.panel
    assert "sepia" in panel.tone_label.text() and panel.tone_box.isChecked()
    window.doc.set_layer_alpha(MASK, np.full((window.doc.height, window.doc.width), 255, np.uint8))
    assert window.inpaint.make_request().tone == "auto"
    panel.tone_box.setChecked(False)
    assert window.settings.tone == "off" and window.inpaint.make_request().tone == "off"
    window.doc.set_photo(synthetic_photo())
    assert panel.tone_label.text().startswith("Colour photo")


# -- provenance -----------------------------------------------------------------------------------------------
def test_records_follow_undo_redo_and_the_sidecar_matches_the_fills(
    make_window: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dialogs: Any
) -> None:
    window = make_window()
    provenance, stack = window.restore.provenance, window.doc.undo_stack
    assert provenance.fills() == [] and not window.restore.indicator.isVisible()
    boxes = [Box(8, 6, 22, 18), Box(36, 24, 56, 40)]
    _fill(window, qtbot, boxes[0], "telea")
    _fill(window, qtbot, boxes[1], "ns")
    fills = provenance.fills()
    assert [f.engine for f in fills] == ["telea", "ns"] and [f.box for f in fills] == boxes
    assert window.restore.indicator.isVisible() and window.restore.indicator.text() == "2 filled regions"
    assert "not every pixel is original" in window.restore.panel.provenance_label.text()

    stack.undo()
    assert provenance.fills() == fills[:1] and window.restore.indicator.text() == "1 filled region"
    stack.redo()
    assert provenance.fills() == fills

    out = tmp_path / "restored.png"
    _save_as(window, monkeypatch, out)
    folder = sidecar_path(out)
    record = json.loads((folder / "provenance.json").read_text())
    assert [f["engine"] for f in record["fills"]] == ["telea", "ns"]
    assert [f["box"] for f in record["fills"]] == [[b.x0, b.y0, b.x1, b.y1] for b in boxes]
    assert [f["pixels"] for f in record["fills"]] == [f.pixels for f in fills]
    changed = not_original(window.doc.image.shape, fills, window.doc.original, window.doc.image)
    assert record["filled_pixels"] == int(changed.sum())
    assert np.array_equal(load_image(folder / "filled-pixels.png").pixels > 0, changed)
    text = Image.open(out).text  # type: ignore[attr-defined]
    assert "2 filled (inpainted) regions" in text["Description"]
    assert text["Provenance"] == "restored.provenance/provenance.json"
    assert "provenance record in restored.provenance/" in window.statusBar().currentMessage()
    assert str(folder) in window.restore.panel.sidecar_label.text()

    # Saving again after an undo replaces the record this session wrote, without asking.
    stack.undo()
    _save_as(window, monkeypatch, out)
    assert len(json.loads((folder / "provenance.json").read_text())["fills"]) == 1
    assert not any(call[1] == "Replace the provenance record?" for call in dialogs.calls)


def test_a_record_from_elsewhere_is_kept_unless_the_user_agrees(
    make_window: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dialogs: Any
) -> None:
    window = make_window()
    _fill(window, qtbot, Box(8, 6, 22, 18), "telea")
    out = tmp_path / "photo.png"
    earlier = sidecar_path(out)
    earlier.mkdir()
    (earlier / "provenance.json").write_text("{}")
    dialogs.answer = QMessageBox.StandardButton.No
    _save_as(window, monkeypatch, out)
    assert dialogs.calls[-1][1] == "Replace the provenance record?"
    assert (earlier / "provenance.json").read_text() == "{}"
    text = Image.open(out).text  # type: ignore[attr-defined]
    assert "No provenance record was saved" in text["Description"] and "Provenance" not in text

    # With the record switched off, the note is still embedded and no folder is written.
    window.restore.panel.record_box.setChecked(False)
    assert window.settings.write_provenance is False
    plain = tmp_path / "plain.png"
    _save_as(window, monkeypatch, plain)
    assert not sidecar_path(plain).exists()
    assert "1 filled (inpainted) region" in Image.open(plain).text["Description"]  # type: ignore[attr-defined]


def test_export_provenance_from_the_file_menu(
    make_window: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    window = make_window()
    assert not window.restore.act_export_provenance.isEnabled()
    _fill(window, qtbot, Box(8, 6, 22, 18), "telea")
    assert window.restore.act_export_provenance.isEnabled()
    chosen = tmp_path / "study.provenance"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(chosen), "")))
    window.restore.act_export_provenance.trigger()
    record = json.loads((chosen / "provenance.json").read_text())
    assert record["image"] == "study.png" and record["fills"][0]["box"] == [8, 6, 22, 18]
    assert not (tmp_path / "study.png").exists()  # only the record: the photo is saved with Save


def test_a_stale_fill_leaves_no_record(make_window: Any, qtbot: Any) -> None:
    engine = FakeEngine(honour_cancel=False)  # its result is dropped as stale
    window = make_window(engine=engine)
    _set_mask(window, Box(8, 6, 22, 18))
    window.settings.engine = "telea"
    window.start_inpaint()
    window.doc.set_photo(synthetic_photo(seed=3))  # another photo: the running fill is stale
    with qtbot.waitSignal(window.inpaint.running_changed, timeout=10000):
        engine.gate.set()
    assert window.restore.provenance.fills() == [] and window.doc.undo_stack.count() == 0


# -- the source-reuse overlay ---------------------------------------------------------------------------------
def test_reuse_heat_map_shows_beside_the_flow_and_exports(
    make_window: Any, qtbot: Any, random_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    window.settings.weights = str(random_weights)
    panel, view, restore = window.attention_panel, window.view, window.restore
    assert not panel.reuse_radio.isEnabled() and not restore.act_show_reuse.isEnabled()
    _fill(window, qtbot, Box(20, 14, 40, 32), "deepfill")
    field = window.doc.attention
    assert field is not None and restore.provenance.fills()[0].model is not None
    expected = reuse_rgba(reuse_density(field))
    assert expected[..., 3].any()  # the map has visible pixels, so the comparison below can fail

    restore.act_show_reuse.trigger()
    assert panel.mode() == REUSE and window.act_overlay.isChecked() and view.flow_item.isVisible()
    shown = qimage_convert.qimage_to_rgba(view.flow_item.pixmap().toImage())
    assert np.array_equal(shown[..., 3], expected[..., 3])
    opaque = expected[..., 3] == 255
    assert np.abs(shown[opaque].astype(int) - expected[opaque].astype(int)).max() <= 1
    assert not panel.reuse_legend.pixmap().isNull() and "per pixel" in panel.hint.text()
    panel.opacity.setValue(40)  # one opacity control for both maps
    assert view.flow_item.opacity() == pytest.approx(0.4)

    panel.set_mode(FLOW)
    shown = qimage_convert.qimage_to_rgba(view.flow_item.pixmap().toImage())
    assert np.array_equal(shown[..., 3], field.flow_rgba(window.doc.height, window.doc.width)[..., 3])

    panel.set_mode(REUSE)
    out = tmp_path / "reuse.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    panel.export_button.click()
    assert np.array_equal(load_image(out).pixels, expected)
    assert load_image(tmp_path / "reuse-legend.png").pixels.shape[2] == 4

    window.doc.undo_stack.undo()  # no DeepFill fill left: no map, the overlay hides
    assert not panel.reuse_radio.isEnabled() and not window.act_overlay.isChecked()
    assert not view.flow_item.isVisible()


def test_opening_a_photo_with_a_record_beside_it_says_so(make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    path = tmp_path / "restored.png"
    save_image(path, synthetic_photo())
    assert window.files.open_path(path, ask=False)
    assert window.restore.panel.provenance_label.text().startswith("No fills yet")
    sidecar_path(path).mkdir()
    assert window.files.open_path(path, ask=False)
    text = window.restore.panel.provenance_label.text()
    assert "record of earlier fills" in text and "restored.provenance/" in text
    assert not window.restore.panel.export_button.isEnabled()  # nothing of this session to record


def test_the_record_is_written_and_the_weights_hashed_off_the_gui_thread(
    make_window: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, random_weights: Path
) -> None:
    """A save with a fill writes the record's full-size maps on the file worker, with the busy bar up; the
    weights are hashed on the fill's worker (by the engine, which reports the hash), not as the fill is applied."""
    import app.provenance_controller as provenance_controller
    import inpaint_core.engine as engine
    import inpaint_core.restore.provenance as provenance

    window = make_window()
    weights = tmp_path / "fresh.safetensors"  # a file no earlier test hashed (the identity is cached)
    weights.write_bytes(random_weights.read_bytes())
    window.settings.weights = str(weights)
    hashed: list[threading.Thread] = []
    real_hash = provenance.sha256_file
    for module in (engine, provenance):  # whoever hashes it: the engine does, the record reads the result
        monkeypatch.setattr(
            module, "sha256_file", lambda p: (hashed.append(threading.current_thread()), real_hash(p))[1]
        )
    _fill(window, qtbot, Box(20, 14, 40, 32), "deepfill")
    assert hashed and threading.main_thread() not in hashed
    assert window.restore.provenance.fills()[0].model is not None

    seen: list[tuple[threading.Thread, str]] = []
    real_write = provenance_controller.write_sidecar

    def write_sidecar(*args: Any, **kwargs: Any) -> Path:
        seen.append((threading.current_thread(), window.files.background.label))
        return real_write(*args, **kwargs)

    monkeypatch.setattr(provenance_controller, "write_sidecar", write_sidecar)
    busy: list[str] = []
    window.files.busy_changed.connect(busy.append)
    out = tmp_path / "filled.png"
    _save_as(window, monkeypatch, out)
    ((thread, label),) = seen
    assert thread is not threading.main_thread() and label == "Saving filled.png…"
    assert busy == ["Saving filled.png…", ""]  # the busy bar shows while the record and the photo are written
    assert (sidecar_path(out) / "attention-flow.png").is_file()
    assert Image.open(out).text["Provenance"] == "filled.provenance/provenance.json"  # type: ignore[attr-defined]
    assert "provenance record in filled.provenance/" in window.statusBar().currentMessage()


def test_a_record_that_cannot_be_written_is_said_and_the_photo_still_saved(
    make_window: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dialogs: Any
) -> None:
    import app.provenance_controller as provenance_controller
    from inpaint_core.errors import InpaintError

    window = make_window()
    _fill(window, qtbot, Box(8, 6, 22, 18), "telea")

    def refuse(*_args: Any, **_kwargs: Any) -> Path:
        raise InpaintError("disk full")

    monkeypatch.setattr(provenance_controller, "write_sidecar", refuse)
    out = tmp_path / "photo.png"
    _save_as(window, monkeypatch, out)
    assert (
        dialogs.calls[-1][:2] == ("warning", "Provenance record not written")
        and "disk full" in dialogs.calls[-1][2]
    )
    text = Image.open(out).text  # type: ignore[attr-defined]
    assert "No provenance record was saved" in text["Description"]


# -- provenance across sessions: re-save, crash recovery, Save As ------------------------------------------------
_EARLIER_SESSION = """
import sys, time
from pathlib import Path
import numpy as np
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
app = QApplication([])
from app.dialogs import ask_box
from app.document import MASK
from app.main_window import MainWindow
from app.settings import AppSettings
from inpaint_core.engine import InpaintEngine
folder, scan, out, mode = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes)
QFileDialog.getSaveFileName = staticmethod(lambda *a, **k: (str(out), "PNG (*.png)"))
window = MainWindow(AppSettings.from_ini(folder / "settings.ini"), InpaintEngine())
window.show()
assert window.files.open_path(scan, ask=False)

def fill(x0, y0, x1, y1):
    alpha = np.zeros((window.doc.height, window.doc.width), np.uint8)
    alpha[y0:y1, x0:x1] = 255
    window.doc.set_layer_alpha(MASK, alpha)
    done = []
    window.inpaint.applied.connect(lambda _s: done.append(1))
    window.recovery.written.connect(lambda _t: done.append(2))
    window.inpaint.start("telea")
    deadline = time.monotonic() + 60
    while 2 not in done:  # applied, and the recovery copy that follows a fill written
        assert time.monotonic() < deadline, "no fill"
        app.processEvents()

fill(8, 6, 22, 18)
assert window.files.save_as()
if mode == "crash":
    fill(36, 24, 56, 40)  # unsaved: only the recovery copy holds it
print("ready", flush=True)
if mode == "crash":
    app.exec()  # killed here
window.shutdown()
"""


def _earlier_session(tmp_path: Path, mode: str) -> tuple[Path, Path, subprocess.Popen[str]]:
    """A first editor process: opens scan.png, fills, saves out.png (and in "crash" mode fills again and
    waits to be killed). Returns the scan, the saved photo and the process."""
    scan, out = tmp_path / "scan.png", tmp_path / "out.png"
    save_image(scan, synthetic_photo())
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.Popen(
        [sys.executable, "-c", _EARLIER_SESSION, str(tmp_path), str(scan), str(out), mode],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready", child.communicate(timeout=60)
    return scan, out, child


def _check_saved(path: Path, scan: Path, fills: int) -> dict[str, Any]:
    """The photo carries the 4 note chunks and its record covers every pixel that differs from the scan."""
    with Image.open(path) as image:
        text = dict(image.text)  # type: ignore[attr-defined]
    assert {"Description", "Software", "Provenance", "XML:com.adobe.xmp"} <= set(text), sorted(text)
    assert f"{fills} filled (inpainted) region" in text["Description"]
    record = json.loads((sidecar_path(path) / "provenance.json").read_text())
    assert len(record["fills"]) == fills
    differs = (load_image(path).pixels != load_image(scan).pixels).any(axis=2)
    filled = load_image(sidecar_path(path) / "filled-pixels.png").pixels > 0
    assert not (differs & ~filled).any()  # every pixel that is not original is in the record
    assert record["filled_pixels"] == int(filled.sum()) >= int(differs.sum()) > 0
    return record


def test_a_re_save_in_a_later_session_keeps_the_note_and_the_earlier_fills(
    make_window: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dialogs: Any
) -> None:
    scan, out, child = _earlier_session(tmp_path, "save")
    child.communicate(timeout=60)
    first = _check_saved(out, scan, 1)
    window = make_window()
    assert window.files.open_path(out, ask=False)
    provenance = window.restore.provenance
    assert len(provenance.fills()) == 1 and provenance.earlier_count() == 1
    assert "1 from earlier sessions" in provenance.summary()
    # A stroke and Ctrl+S: the note and the record stay.
    window.tool_settings.set_size(6)
    drag(window, [(40.0, 10.0), (50.0, 12.0)])
    dialogs.answer = QMessageBox.StandardButton.Yes  # "Overwrite the original?"
    assert window.files.save()
    assert _check_saved(out, scan, 1)["fills"][0]["box"] == first["fills"][0]["box"]
    assert not any(c[1] == "Replace the provenance record?" for c in dialogs.calls)  # its fills are kept
    # A second fill in this session: the record holds both, in order.
    _fill(window, qtbot, Box(36, 24, 56, 40), "ns")
    assert window.files.save()
    record = _check_saved(out, scan, 2)
    assert [f["engine"] for f in record["fills"]] == ["telea", "ns"]


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_after_a_crash_the_restored_work_is_saved_with_every_fill(
    make_window: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, dialogs: Any
) -> None:
    scan, out, child = _earlier_session(tmp_path, "crash")
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=60)
    window = make_window()  # the same settings folder: the killed session's copy is offered
    dialogs.answer = QMessageBox.StandardButton.Yes
    assert window.offer_recovery()
    provenance = window.restore.provenance
    assert [f.engine for f in provenance.fills()] == ["telea", "telea"]  # both fills, the unsaved one too
    assert window.restore.panel.sidecar_label.text() == ""  # no stale record shown
    assert window.files.save()  # over out.png, after "Overwrite the original?"
    assert not any(c[1] == "Replace the provenance record?" for c in dialogs.calls)
    record = _check_saved(out, scan, 2)
    assert [f["box"] for f in record["fills"]] == [[8, 6, 22, 18], [36, 24, 56, 40]]
    # Save As to a new name writes its own record, and the panel points at it.
    renamed = tmp_path / "renamed.png"
    _save_as(window, monkeypatch, renamed)
    _check_saved(renamed, scan, 2)
    assert str(sidecar_path(renamed)) in window.restore.panel.sidecar_label.text()
