"""The fill worker and controller: real Telea engine end to end, cancel, stale results, errors, fallback."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QMessageBox

from app.canvas.commands import FillCommand
from app.workers import InpaintWorker
from inpaint_core.api import InpaintRequest
from inpaint_core.boxes import Box
from inpaint_core.engine import InpaintEngine
from inpaint_core.errors import DeviceError, WeightsMissingError
from tests.app.qt_helpers import drag
from tests.helpers.fake_engine import FakeEngine
from tests.helpers.photos import synthetic_photo


def gate_engine(honour_cancel: bool = True) -> FakeEngine:
    """Waits at its gate, then fills the hole with a grey that encodes the request id; ``honour_cancel=False``
    imitates an engine that finished its last stage before it saw the cancel flag."""
    return FakeEngine(before=(("load", 0.0),), honour_cancel=honour_cancel, grey=True)


def _paint_hole(window: Any) -> np.ndarray:
    window.tool_settings.set_size(10)
    drag(window, [(20.0, 20.0), (40.0, 24.0)])
    return window.doc.mask_array()


def test_worker_result_differs_only_inside_the_mask_real_telea(qtbot: Any) -> None:
    img = synthetic_photo()
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[10:30, 20:40] = 1
    request = InpaintRequest(image=img, mask=mask, engine="telea", request_id=7)
    worker = InpaintWorker(InpaintEngine(), request)
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    stages: list[str] = []
    worker.signals.progress.connect(lambda _rid, stage, _f: stages.append(stage))
    with qtbot.waitSignal(worker.signals.finished, timeout=30000) as blocker:
        pool.start(worker)
    result = blocker.args[0]
    assert result.request_id == 7
    changed = np.any(result.image != img, axis=2)
    assert changed[mask > 0].any()
    assert not changed[mask == 0].any()
    assert "load" in stages
    assert pool.waitForDone(5000)


def test_fill_through_the_window_is_one_undoable_step(make_window: Any, qtbot: Any) -> None:
    window = make_window()
    window.settings.engine = "telea"
    mask = _paint_hole(window)
    before = window.doc.image.copy()
    with qtbot.waitSignal(window.inpaint.applied, timeout=30000):
        assert window.act_inpaint.isEnabled()
        window.act_inpaint.trigger()
    changed = np.any(window.doc.image != before, axis=2)
    assert changed.any() and not changed[mask == 0].any()
    assert not window.doc.mask_array().any()  # the filled holes leave the mask
    assert window.doc.undo_stack.undoText().startswith("Fill")
    window.doc.undo_stack.undo()
    assert np.array_equal(window.doc.image, before)
    assert np.array_equal(window.doc.mask_array(), mask)


def test_fill_history_keeps_only_the_windows(make_window: Any, qtbot: Any) -> None:
    window = make_window(image=synthetic_photo(300, 400))
    window.settings.engine = "telea"
    window.view.zoom_100()
    mask = _paint_hole(window)
    before = window.doc.image.copy()
    with qtbot.waitSignal(window.inpaint.applied, timeout=30000):
        window.act_inpaint.trigger()
    after = window.doc.image.copy()
    stack = window.doc.undo_stack
    command = stack.command(stack.count() - 1)
    assert isinstance(command, FillCommand)
    (patch,) = command.patches
    assert patch.image_before.shape[:2] == (patch.box.height, patch.box.width)
    (crop,) = command.layers  # the mask strokes it consumed, a crop too
    assert crop.name == "mask" and crop.before.shape == (crop.box.height, crop.box.width)
    assert crop.box.width * crop.box.height < 300 * 400 // 2
    assert patch.box.width * patch.box.height < 300 * 400 // 2  # a crop, not the frame
    ys, xs = np.nonzero(mask)
    assert patch.box.contains(xs.min(), ys.min()) and patch.box.contains(xs.max(), ys.max())
    stack.undo()
    assert np.array_equal(window.doc.image, before) and np.array_equal(window.doc.mask_array(), mask)
    stack.redo()
    assert np.array_equal(window.doc.image, after) and not window.doc.mask_array().any()


def test_cancel_leaves_the_document_unchanged(make_window: Any, qtbot: Any) -> None:
    engine = gate_engine()
    window = make_window(engine=engine)
    _paint_hole(window)
    before, steps = window.doc.image.copy(), window.doc.undo_stack.count()
    window.start_inpaint()
    assert engine.entered.wait(5)
    assert window.inpaint.is_running
    with qtbot.waitSignal(window.inpaint.running_changed, timeout=5000):
        window.act_cancel.trigger()
        engine.gate.set()
    assert np.array_equal(window.doc.image, before)
    assert window.doc.undo_stack.count() == steps
    assert "cancelled" in window.statusBar().currentMessage().lower()


def test_worker_cancel_signal(qtbot: Any) -> None:
    engine = gate_engine()
    img = synthetic_photo()
    mask = np.ones(img.shape[:2], np.uint8)
    worker = InpaintWorker(engine, InpaintRequest(image=img, mask=mask, engine="telea", request_id=3))
    pool = QThreadPool()
    with qtbot.waitSignal(worker.signals.cancelled, timeout=5000) as blocker:
        pool.start(worker)
        assert engine.entered.wait(5)
        worker.cancel()
        engine.gate.set()
    assert blocker.args == [3]
    assert pool.waitForDone(5000)


def test_a_superseded_result_is_dropped(make_window: Any, qtbot: Any) -> None:
    engine = gate_engine(honour_cancel=False)
    window = make_window(engine=engine)
    mask = _paint_hole(window)
    first = window.start_inpaint()
    assert engine.entered.wait(5)
    second = window.start_inpaint()  # queued behind the first on the one-thread pool
    assert second > first
    with qtbot.waitSignal(window.inpaint.applied, timeout=10000):
        engine.gate.set()
    # only the newest request's fill landed: grey 40 * second inside the hole
    assert np.all(window.doc.image[mask > 0] == 40 * second)
    assert (
        sum(window.doc.undo_stack.text(i).startswith("Fill") for i in range(window.doc.undo_stack.count()))
        == 1
    )


def test_a_result_for_a_changed_photo_is_dropped(make_window: Any, qtbot: Any) -> None:
    engine = gate_engine()
    window = make_window(engine=engine)
    _paint_hole(window)
    window.start_inpaint()
    assert engine.entered.wait(5)
    window.doc.set_image_region(
        Box(0, 0, 2, 2), np.zeros((2, 2, 3), np.uint8)
    )  # e.g. undoing an earlier fill
    edited = window.doc.image.copy()
    with qtbot.waitSignal(window.inpaint.running_changed, timeout=10000):
        engine.gate.set()
    assert np.array_equal(window.doc.image, edited)
    assert "dropped" in window.statusBar().currentMessage()


def test_painting_while_the_fill_runs_is_kept(make_window: Any, qtbot: Any) -> None:
    engine = gate_engine()
    window = make_window(engine=engine)
    hole = _paint_hole(window)
    window.start_inpaint()
    assert engine.entered.wait(5)
    window.tool_settings.set_size(6)
    drag(window, [(50.0, 40.0), (58.0, 40.0)])  # the GUI thread is free: keep painting
    with qtbot.waitSignal(window.inpaint.applied, timeout=10000):
        engine.gate.set()
    mask = window.doc.mask_array()
    assert mask[40, 54] == 1  # the new stroke stays for the next run
    assert not mask[hole > 0].any()  # the filled hole is gone


def test_engine_error_shows_a_message_and_keeps_the_document(
    make_window: Any, qtbot: Any, dialogs: Any
) -> None:
    error = DeviceError("CUDA ran out of memory; lower the max resolution or use the CPU")
    window = make_window(engine=FakeEngine(error=error))
    _paint_hole(window)
    before, steps = window.doc.image.copy(), window.doc.undo_stack.count()
    with qtbot.waitSignal(window.inpaint.failed, timeout=10000):
        window.start_inpaint()
    assert dialogs.calls and "out of memory" in dialogs.calls[-1][2]
    assert np.array_equal(window.doc.image, before)
    assert window.doc.undo_stack.count() == steps


def test_missing_deepfill_weights_offer_auto(make_window: Any, qtbot: Any, dialogs: Any) -> None:
    # as the real engine behaves when no DeepFill weights are installed
    missing = WeightsMissingError("no DeepFill weights are installed")
    window = make_window(engine=FakeEngine(error=missing, error_engines=("deepfill",), gated=False))
    window.settings.engine = "deepfill"
    _paint_hole(window)
    dialogs.answer = QMessageBox.StandardButton.Yes
    with qtbot.waitSignal(window.inpaint.applied, timeout=30000):
        window.start_inpaint()
    assert any(title == "DeepFill weights are missing" for _k, title, _t in dialogs.calls)
    assert window.settings.engine == "auto"
    assert window.engine_panel.model.currentData() == "auto"
    assert window.inpaint.last_engine_used == "auto"


def test_the_provenance_record_is_made_on_the_worker_and_arrives_with_the_result(
    make_window: Any, qtbot: Any, monkeypatch: Any
) -> None:
    """The GUI thread only keeps the record: it is built on the pool thread and sent with the result."""
    import app.workers as workers

    made: list[tuple[bool, Any]] = []

    def spy(request: Any, result: Any) -> Any:
        record = real(request, result)
        made.append((threading.current_thread() is threading.main_thread(), record))
        return record

    real = workers.record_fill
    monkeypatch.setattr(workers, "record_fill", spy)
    window = make_window()
    window.settings.engine = "telea"
    mask = _paint_hole(window)
    with qtbot.waitSignal(window.inpaint.applied, timeout=30000):
        window.start_inpaint()
    assert len(made) == 1
    on_gui_thread, record = made[0]
    assert not on_gui_thread
    assert window.restore.provenance.fills() == [record]  # the very record the worker sent
    assert record.engine == "telea" and np.array_equal(record.mask, mask > 0)
