"""PatchMatch in the editor, on the real engine: picked in the Fill panel with its patch radius, filled, and its
source map in the overlay, the inspector (one source at 100 %, the copied pixel) and the fill's record."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF

from app.settings import AppSettings
from tests.app.qt_helpers import drag
from tests.helpers.photos import textured


def test_patchmatch_fill_with_its_source_map_in_the_inspector(make_window: Any, qtbot: Any) -> None:
    window = make_window(image=textured(96, 128))
    panel = window.engine_panel
    panel.model.setCurrentIndex(panel.model.findData("patchmatch"))
    assert window.settings.engine == "patchmatch" and panel.patch_radius.isEnabled()
    panel.patch_radius.setValue(2)
    window.tool_settings.set_size(16)
    drag(window, [(50.0, 40.0), (80.0, 44.0)])
    mask = window.doc.mask_array() > 0
    request = window.inpaint.make_request()
    assert request is not None and request.engine == "patchmatch" and request.patch_radius == 2
    with qtbot.waitSignal(window.inpaint.applied, timeout=60000):
        window.start_inpaint()
    field = window.doc.attention
    assert field is not None
    ys, xs = np.nonzero(mask)
    x, y = int(xs[len(xs) // 2]), int(ys[len(ys) // 2])
    sources = window.inspect_at(QPointF(x + 0.5, y + 0.5))
    assert len(sources) == 1 and sources[0].weight == 1.0 and window.inspector.shown == 1
    sx, sy = int(sources[0].x), int(sources[0].y)
    assert not mask[sy, sx]
    np.testing.assert_array_equal(window.doc.image[y, x], window.doc.image[sy, sx])
    assert f"copied from pixel ({sx}, {sy})" in window.statusBar().currentMessage()
    records = window.restore.provenance.fills()
    assert records[-1].engine == "patchmatch" and records[-1].attention is field


def test_the_patch_radius_persists(make_window: Any, tmp_path: Any) -> None:
    window = make_window()
    window.engine_panel.patch_radius.setValue(5)
    window.settings.sync()
    assert AppSettings.from_ini(tmp_path / "settings.ini").patch_radius == 5
