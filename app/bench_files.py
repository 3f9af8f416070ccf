"""File benchmark: open, save and export of a 24 MP photo through the editor, and how long the window froze.

    QT_QPA_PLATFORM=offscreen python -m app.bench_files [--width 6000 --height 4000] [--deep]

For each operation prints its wall time and the longest stall of the GUI thread while it ran (the largest gap
between ticks of a 10 ms timer: what a user sees as a frozen window). The reading and writing run off the GUI
thread (app/background.py); what stalls is the work that must stay on it (the document swap, the screen copy).
The last row saves after a DeepFill fill (the CPU candidate's weights unless --weights), so the provenance
record's full-size maps (attention flow, source reuse...) are written too.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QMessageBox

from app.document import MASK
from app.main import create_engine
from app.main_window import MainWindow
from app.settings import AppSettings
from inpaint_core import image_io
from inpaint_core.api import DEEPFILL, RESOURCES, TELEA

CANDIDATE = RESOURCES / "weights" / "candidate" / "G_ema.safetensors"


class StallMeter:
    """Ticks every 10 ms on the GUI thread; `longest` is the largest gap seen since `reset`."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.last = 0
        self.longest = 0

    def _tick(self) -> None:
        now = self.clock.elapsed()
        self.longest = max(self.longest, now - self.last)
        self.last = now

    def measure(self, work: Callable[[], Any]) -> tuple[float, float]:
        """(seconds, longest stall in seconds) of ``work()``, run from inside the event loop."""
        app = QApplication.instance()
        assert app is not None
        result: dict[str, float] = {}

        def run() -> None:
            self.clock.start()
            self.last, self.longest = 0, 0
            t0 = time.perf_counter()
            work()
            result["seconds"] = time.perf_counter() - t0
            QTimer.singleShot(30, app.quit)  # one more tick closes the last gap

        self.timer.start()
        QTimer.singleShot(0, run)
        app.exec()
        self.timer.stop()
        return result["seconds"], self.longest / 1000.0


def photo(height: int, width: int, deep: bool) -> np.ndarray:
    """A photo-like test image (gradients and mild noise: compresses like a photo, not like noise)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([xx / width, yy / height, 0.5 + 0.3 * np.sin((xx + yy) / 300.0)], axis=2)
    rgb += rng.normal(0.0, 0.01, rgb.shape).astype(np.float32)
    peak = 65535 if deep else 255
    return np.rint(np.clip(rgb, 0, 1) * peak).astype(np.uint16 if deep else np.uint8)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bench_files", description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=6000)
    parser.add_argument("--height", type=int, default=4000)
    parser.add_argument("--deep", action="store_true", help="a 16-bit photo (default 8-bit)")
    parser.add_argument("--weights", type=Path, default=CANDIDATE, help="DeepFill weights of the fill row")
    args = parser.parse_args(argv)

    _app = QApplication.instance() or QApplication([])  # kept alive for the run
    folder = Path(tempfile.mkdtemp())
    window = MainWindow(AppSettings.from_ini(folder / "bench.ini"), create_engine())
    window.show()
    src = folder / "photo.png"
    image_io.save_image(src, photo(args.height, args.width, args.deep))
    yes = {"Overwrite the original?": QMessageBox.StandardButton.Yes}
    save = QMessageBox.StandardButton.Save  # "Some data will be lost": save anyway
    QMessageBox.question = staticmethod(lambda _p, title, *a, **k: yes.get(title, save))  # type: ignore[method-assign]
    QInputDialog.getInt = staticmethod(lambda *a, **k: (92, True))  # type: ignore[method-assign]

    def save_as(name: str) -> Callable[[], Any]:
        def run() -> Any:
            QFileDialog.getSaveFileName = staticmethod(lambda *a, **k: (str(folder / name), ""))  # type: ignore[method-assign]
            return window.files.export()

        return run

    meter = StallMeter()
    depth = "16-bit" if args.deep else "8-bit"
    print(f"{args.width}x{args.height} ({args.width * args.height / 1e6:.0f} MP) {depth} RGB photo")
    for label, work in (
        ("open PNG", lambda: window.files.open_path(src, ask=False)),
        ("save PNG", save_as("copy.png")),
        ("export JPEG", save_as("copy.jpg")),
        ("export TIFF", save_as("copy.tif")),
    ):
        seconds, stall = meter.measure(work)
        print(f"{label:12s} {seconds:6.2f} s   longest GUI stall {stall * 1000:6.0f} ms")
    engine = DEEPFILL if args.weights.is_file() else TELEA
    fill_with(window, engine, args.weights)
    seconds, stall = meter.measure(save_as("filled.png"))
    print(
        f"save PNG after a {engine} fill, with its provenance record: {seconds:6.2f} s   "
        f"longest GUI stall {stall * 1000:6.0f} ms"
    )
    window.doc.undo_stack.setClean()
    window.close()
    return 0


def fill_with(window: MainWindow, engine: str, weights: Path) -> None:
    """Fill a 400x300 hole in the middle of the photo and wait until it is applied."""
    app = QApplication.instance()
    assert app is not None
    window.settings.engine = engine
    if engine == DEEPFILL:
        window.settings.weights = str(weights)
    mask = np.zeros((window.doc.height, window.doc.width), np.uint8)
    cy, cx = window.doc.height // 2, window.doc.width // 2
    mask[cy - 150 : cy + 150, cx - 200 : cx + 200] = 255
    window.doc.set_layer_alpha(MASK, mask)
    window.inpaint.applied.connect(lambda _s: app.quit())
    window.inpaint.failed.connect(lambda text: (print(f"fill failed: {text}"), app.quit()))
    QTimer.singleShot(0, window.start_inpaint)
    app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
