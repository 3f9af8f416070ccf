"""Restoration benchmark in the editor: how live the scratch proposal is on a large scan, and what provenance
costs when a photo is saved.

    QT_QPA_PLATFORM=offscreen python -m app.bench_restore [--width 3000 --height 2000 --repeats 5]
                                                          [--method auto|learned|classical]

Prints medians over `--repeats` runs of: Find scratches until the proposal is on the canvas (analysis on the
worker: the classical detector at the preview size, the learned one at full size; the line names the
detector), one sensitivity step until the canvas shows it (re-threshold + drawing, on the GUI thread), Apply
at full resolution until the mask step is pushed, the tone check when a photo opens, recording a fill, and
Save As with the note and the sidecar against Save As without provenance.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from app.main import create_engine
from app.main_window import MainWindow
from app.restore_controller import describe_tone
from app.settings import AppSettings
from app.workers import fill_record
from inpaint_core.api import TELEA, InpaintRequest, InpaintResult
from inpaint_core.boxes import Box


def scratched_scan(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A sepia gradient with grain, a few thin bright and dark scratches and dust specks (numpy + OpenCV)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    luma = 0.3 + 0.4 * yy / height + 0.1 * np.sin(xx / width * 6.0) + rng.normal(0, 0.01, (height, width))
    rgb = np.stack([luma * 1.07 + 0.03, luma * 0.95 + 0.01, luma * 0.78], axis=2)
    out = np.clip(rgb * 255, 0, 255).astype(np.uint8)
    for i in range(12):
        p0 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        colour = (235, 230, 220) if i % 2 else (25, 22, 18)
        cv2.line(out, p0, p1, colour, int(rng.integers(1, 4)), cv2.LINE_AA)
    for _ in range(200):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(out, centre, int(rng.integers(1, 4)), (240, 236, 230), -1, cv2.LINE_AA)
    return out


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _until(app: QCoreApplication, done: Callable[[], bool], timeout: float = 120.0) -> float:
    """Seconds until ``done()`` holds, processing events meanwhile."""
    start = time.perf_counter()
    while not done():
        app.processEvents()
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the editor did not finish in time")
        time.sleep(0.002)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bench_restore", description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=3000)
    parser.add_argument("--height", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--method", choices=("auto", "learned", "classical"), default="auto", help="the scratch detector"
    )
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp())

    app = QApplication.instance() or QApplication([])
    settings = AppSettings.from_ini(tmp / "bench.ini")
    settings.scratch_method = args.method
    window = MainWindow(settings, create_engine())
    window.resize(1600, 1000)
    window.show()
    scan = scratched_scan(args.height, args.width)
    window.doc.set_photo(scan)
    app.processEvents()
    restore, scratches = window.restore, window.restore.scratches
    print(
        f"scan {args.width}x{args.height} ({args.width * args.height / 1e6:.1f} MP), {args.repeats} repeats"
    )

    find, step, apply = [], [], []
    for i in range(args.repeats):
        scratches.stop()
        scratches.analysis = None  # a fresh analysis each time, as for a newly opened photo
        t0 = time.perf_counter()
        restore.find_scratches()
        _until(app, lambda: scratches.proposal is not None)
        find.append(time.perf_counter() - t0)
        for value in (30, 70):
            shown = scratches.proposal
            t0 = time.perf_counter()
            restore.panel.sensitivity.setValue(value + i)
            _until(app, lambda: scratches.proposal is not shown)  # noqa: B023 (called at once)
            step.append(time.perf_counter() - t0)
        count = window.doc.undo_stack.count()
        t0 = time.perf_counter()
        restore.panel.replace_button.click()
        _until(app, lambda: window.doc.undo_stack.count() > count)  # noqa: B023 (called at once)
        apply.append(time.perf_counter() - t0)
    detector = scratches.analysis.method if scratches.analysis is not None else args.method
    print(
        f"{detector} detector: find scratches -> proposal shown: {_ms(statistics.median(find))}; "
        "one sensitivity step -> shown: "
        f"{_ms(statistics.median(step))}; apply at full resolution -> mask step: {_ms(statistics.median(apply))}"
    )

    tone = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        description = describe_tone(window.doc.image)
        tone.append(time.perf_counter() - t0)
    print(f"tone check on open: {_ms(statistics.median(tone))} ({description or 'colour'})")

    mask = window.doc.mask_array()
    request = InpaintRequest(image=window.doc.image, mask=mask, engine=TELEA)
    result = InpaintResult(window.doc.image, None, None, [Box(0, 0, args.width, args.height)])
    record = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        fill_record(request, result)
        record.append(time.perf_counter() - t0)
    print(
        f"record one fill ({int(mask.sum())} px, made on the fill's worker): {_ms(statistics.median(record))}"
    )

    window.settings.engine = TELEA
    window.start_inpaint()
    _until(app, lambda: not window.inpaint.is_running)
    saves: dict[bool, list[float]] = {True: [], False: []}
    for i in range(args.repeats):
        for with_record in (True, False):
            path = tmp / f"save-{i}-{int(with_record)}.png"
            hook = window.files.before_write
            window.files.before_write = hook if with_record else None
            t0 = time.perf_counter()
            window.files.write_file(path, window.doc.image.copy(), with_metadata=True)
            saves[with_record].append(time.perf_counter() - t0)
            window.files.before_write = hook
    print(
        f"save PNG with note + sidecar: {_ms(statistics.median(saves[True]))}; "
        f"without provenance: {_ms(statistics.median(saves[False]))}"
    )
    window.doc.undo_stack.setClean()
    window.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
