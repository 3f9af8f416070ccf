"""`python main.py --self-test --screenshot OUT.png`: drive the real editor through one editing session.

Opens the photo, paints a stroke with real mouse events on the canvas viewport, runs the best available engine,
turns on the attention overlay (when the engine produced one), clicks a filled pixel, undoes and redoes the fill,
saves a screenshot. Prints one line per step; the first failing step is printed and the exit code is 1.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QEventLoop, QPointF, Qt, QTimer
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from inpaint_core.api import DEEPFILL, Engine, default_engine

# The spoon on the demo photo as strokes (points in image pixels of the 600x400 photo, brush diameter).
SPOON_STROKES = (
    (((412, 70), (407, 105), (400, 145), (392, 185), (383, 225), (375, 250)), 34),
    (((366, 255), (366, 285), (364, 305)), 96),
)
FILL_TIMEOUT_S = 600


class SelfTestError(Exception):
    pass


def send_mouse(widget: Any, kind: QEvent.Type, pos: QPointF, buttons: Qt.MouseButton) -> None:
    """Deliver a synthetic mouse event exactly as the platform would (same code path as a real mouse)."""
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def paint_stroke(view: Any, points: tuple[tuple[float, float], ...]) -> None:
    """Press, drag through ``points`` (image pixels) and release, on the view's viewport."""
    viewport = view.viewport()
    vp = [QPointF(view.mapFromScene(QPointF(x, y))) for x, y in points]
    send_mouse(viewport, QEvent.Type.MouseButtonPress, vp[0], Qt.MouseButton.LeftButton)
    for p in vp[1:]:
        send_mouse(viewport, QEvent.Type.MouseMove, p, Qt.MouseButton.LeftButton)
    send_mouse(viewport, QEvent.Type.MouseButtonRelease, vp[-1], Qt.MouseButton.NoButton)


def wait_for(signals: list[Any], timeout_s: float) -> tuple[int, tuple[Any, ...]] | None:
    """Run the event loop until one of ``signals`` fires; returns (index, args) or None on timeout."""
    loop = QEventLoop()
    fired: list[tuple[int, tuple[Any, ...]]] = []
    handlers: list[tuple[Any, Callable[..., None]]] = []
    for i, sig in enumerate(signals):

        def handler(*args: Any, _i: int = i) -> None:
            fired.append((_i, args))
            loop.quit()

        sig.connect(handler)
        handlers.append((sig, handler))
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    for sig, handler in handlers:
        sig.disconnect(handler)
    return fired[0] if fired else None


def run_self_test(
    app: QApplication, engine: Engine, photo: Path, screenshot: str | None, weights: str | None = None
) -> int:
    from app.main_window import MainWindow
    from app.settings import AppSettings
    from app.theme import apply_theme

    dialogs: list[str] = []

    # A dialog would block an unattended run: record it and answer "no" instead.
    def record(*args: Any, **_kw: Any) -> QMessageBox.StandardButton:
        dialogs.append(" | ".join(str(a) for a in args[1:3]))
        return QMessageBox.StandardButton.No

    QMessageBox.warning = record  # type: ignore[method-assign]
    QMessageBox.question = record  # type: ignore[method-assign]
    QMessageBox.critical = record  # type: ignore[method-assign]

    step = "start"
    tmp = tempfile.TemporaryDirectory(prefix="deepfill-selftest-")
    window: Any = None

    def ok(text: str) -> None:
        print(f"self-test: {step}: ok{(' (' + text + ')') if text else ''}", flush=True)

    try:
        step = "create window"
        settings = AppSettings.from_ini(Path(tmp.name) / "settings.ini")
        settings.weights = weights
        if weights:
            settings.engine = DEEPFILL
        apply_theme(app, "dark")
        window = MainWindow(settings, engine)
        window.resize(1280, 820)
        window.show()
        app.processEvents()
        ok(app.platformName())

        step = "open photo"
        if not window.files.open_path(photo, ask=False):
            raise SelfTestError(f"could not open {photo}: {dialogs[-1] if dialogs else '?'}")
        app.processEvents()
        ok(f"{photo.name} {window.doc.width}x{window.doc.height}")

        step = "paint stroke"
        window.set_tool("brush")
        scale = min(window.doc.width / 600, window.doc.height / 400)
        for points, size in SPOON_STROKES:
            window.tool_settings.set_size(round(size * scale))
            paint_stroke(window.view, tuple((x * scale, y * scale) for x, y in points))
        app.processEvents()
        mask = window.doc.mask_array()
        if mask.sum() == 0 or window.doc.undo_stack.count() != len(SPOON_STROKES):
            raise SelfTestError("the stroke left no mask or no history step")
        ok(f"{int(mask.sum())} masked pixels")

        step = "inpaint"
        engine_name = DEEPFILL if weights else default_engine()
        detail = (
            f" (weights: {weights})"
            if weights
            else ("" if engine_name == DEEPFILL else " (no DeepFill weights ship yet)")
        )
        print(f"self-test: engine: {engine_name}{detail}", flush=True)
        original = window.doc.image.copy()
        t0 = time.perf_counter()
        rid = window.inpaint.start(engine_name)
        if rid == 0:
            raise SelfTestError("the fill did not start")
        fired = wait_for(
            [window.inpaint.applied, window.inpaint.failed, window.inpaint.weights_missing], FILL_TIMEOUT_S
        )
        if fired is None:
            raise SelfTestError(f"no result within {FILL_TIMEOUT_S} s")
        if fired[0] != 0:
            raise SelfTestError(f"the engine failed: {fired[1][0]}")
        elapsed = time.perf_counter() - t0
        changed = np.any(window.doc.image != original, axis=2)
        if not changed.any():
            raise SelfTestError("the fill changed nothing")
        if changed[mask == 0].any():
            raise SelfTestError("the fill changed pixels outside the mask")
        ok(f"{engine_name}, {elapsed:.2f} s from click to fill, {int(changed.sum())} pixels changed")

        step = "undo and redo the fill"
        filled = window.doc.image.copy()
        window.doc.undo_stack.undo()
        if not np.array_equal(window.doc.image, original):
            raise SelfTestError("undo did not restore the photo")
        window.doc.undo_stack.redo()
        if not np.array_equal(window.doc.image, filled):
            raise SelfTestError("redo did not restore the fill")
        ok("")

        step = "attention overlay"
        ys, xs = np.nonzero(mask)
        target = QPointF(float(xs[len(xs) // 2]) + 0.5, float(ys[len(ys) // 2]) + 0.5)
        if window.doc.attention is not None:
            window.set_overlay_visible(True)
            app.processEvents()
            if not window.view.flow_item.isVisible():
                raise SelfTestError("the overlay did not show")
            step = "inspect filled pixel"
            vp = QPointF(window.view.mapFromScene(target))
            send_mouse(window.view.viewport(), QEvent.Type.MouseButtonPress, vp, Qt.MouseButton.LeftButton)
            send_mouse(window.view.viewport(), QEvent.Type.MouseButtonRelease, vp, Qt.MouseButton.NoButton)
            app.processEvents()
            if not window.last_inspected:
                raise SelfTestError(
                    f"clicking the filled pixel ({target.x():.0f}, {target.y():.0f}) showed no sources"
                )
            ok(f"{len(window.last_inspected)} sources, best weight {window.last_inspected[0].weight:.2f}")
        else:
            ok(f"skipped: the {engine_name} engine produces no attention")

        if screenshot:
            step = "screenshot"
            app.processEvents()
            pixmap = window.grab()
            if pixmap.isNull() or not pixmap.save(screenshot):
                raise SelfTestError(f"could not save {screenshot}")
            ok(f"{screenshot} {pixmap.width()}x{pixmap.height()}")

        step = "close"
        window.doc.undo_stack.setClean()
        window.close()
        if not window.inpaint.pool.waitForDone(10000):
            raise SelfTestError("a worker thread is still running")
        ok("")
        if dialogs:
            print(f"self-test: note: dialogs shown: {dialogs}", flush=True)
        print("self-test: passed", flush=True)
        return 0
    except Exception as exc:
        print(
            f"self-test: FAILED at step '{step}': {type(exc).__name__ if not isinstance(exc, SelfTestError) else ''}"
            f"{'' if isinstance(exc, SelfTestError) else ': '}{exc}",
            file=sys.stderr,
            flush=True,
        )
        if window is not None:
            window.inpaint.shutdown(10000)
        return 1
    finally:
        tmp.cleanup()
