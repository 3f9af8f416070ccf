"""Editor benchmark: brush-stroke latency on a 24 MP photo, through the same event path as a real mouse.

    QT_QPA_PLATFORM=offscreen python -m app.bench_editor [--width 6000 --height 4000 --segments 50]

Prints, at Fit and at 100 %, the median / p90 / max time of one stroke segment from the mouse event to the
repainted scene, the time to end the stroke (the undo step), to build the numpy mask a fill needs, to find what a
fill of that stroke clears (the mask stroke with its faint edge, guide and do-not-borrow: GUI-thread work when a
fill lands), and to undo.
Click-to-fill for the demo photo is printed by `python main.py --self-test`.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtWidgets import QApplication

from app.main import create_engine
from app.main_window import MainWindow
from app.self_test import send_mouse
from app.settings import AppSettings
from inpaint_core.boxes import Box, grow_box


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.bench_editor", description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=6000)
    parser.add_argument("--height", type=int, default=4000)
    parser.add_argument("--segments", type=int, default=50)
    args = parser.parse_args(argv)

    app = QApplication.instance() or QApplication([])
    window = MainWindow(AppSettings.from_ini(Path(tempfile.mkdtemp()) / "bench.ini"), create_engine())
    window.resize(1600, 1000)
    window.show()
    photo = np.random.default_rng(0).integers(0, 255, (args.height, args.width, 3), dtype=np.uint8)
    frame = (args.width, args.height)
    t0 = time.perf_counter()
    window.doc.set_photo(photo)
    app.processEvents()
    print(
        f"photo {args.width}x{args.height} ({args.width * args.height / 1e6:.0f} MP) into the view: "
        f"{time.perf_counter() - t0:.2f} s"
    )
    viewport = window.view.viewport()
    for name, zoom, size in (("fit", window.view.fit, 120), ("100%", window.view.zoom_100, 60)):
        zoom()
        app.processEvents()
        window.tool_settings.set_size(size)
        centre = viewport.rect().center()
        points = [
            QPointF(centre.x() - 250 + 10 * i, centre.y() + 40 * math.sin(i / 5))
            for i in range(args.segments + 2)
        ]
        send_mouse(viewport, QEvent.Type.MouseButtonPress, points[0], Qt.MouseButton.LeftButton)
        app.processEvents()
        times = []
        for point in points[1:-1]:
            t0 = time.perf_counter()
            send_mouse(viewport, QEvent.Type.MouseMove, point, Qt.MouseButton.LeftButton)
            app.processEvents()  # includes the repaint of the dirty region
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        send_mouse(viewport, QEvent.Type.MouseButtonRelease, points[-1], Qt.MouseButton.NoButton)
        app.processEvents()
        release = time.perf_counter() - t0
        times.sort()
        print(
            f"{name}: segment median {_ms(statistics.median(times))}, p90 {_ms(times[int(0.9 * len(times))])}, "
            f"max {_ms(times[-1])} over {len(times)}; end of stroke (undo step) {_ms(release)}"
        )
    t0 = time.perf_counter()
    window.doc.mask_array()
    print(f"numpy mask for a fill: {_ms(time.perf_counter() - t0)}")
    hole = window.doc.mask_array() > 0
    ys, xs = np.nonzero(hole)
    stroke = grow_box(
        Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1), 64, 128, *frame
    )
    for label, box in (("the stroke's window", stroke), ("a whole-frame window", Box(0, 0, *frame))):
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            window.inpaint.consumed_layers(hole, [box])
            runs.append(time.perf_counter() - t0)
        print(
            f"what a fill clears, {label} {box.width}x{box.height}: {_ms(statistics.median(runs))} (median of 5)"
        )
    t0 = time.perf_counter()
    window.doc.undo_stack.undo()
    app.processEvents()
    print(f"undo one stroke: {_ms(time.perf_counter() - t0)}")
    window.doc.undo_stack.setClean()
    window.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
