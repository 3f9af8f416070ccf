"""The eraser acts on the active layer; Clear Guide / Clear Do-not-borrow; a fill clears what it consumed
completely (the mask strokes with their faint edges, guide and do-not-borrow inside its windows)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.canvas import mask_ops
from app.document import FORBID, GUIDE, LAYERS, MASK
from inpaint_core.boxes import Box
from tests.app.qt_helpers import drag
from tests.helpers.photos import synthetic_photo

PAINT_TOOL = {MASK: "brush", GUIDE: "guide", FORBID: "forbid"}


def _paint(window: Any, layer: str, points: list[tuple[float, float]], size: int = 8) -> None:
    window.set_tool(PAINT_TOOL[layer])
    window.tool_settings.set_size(size)
    window.tool_settings.guide_width = 2
    drag(window, points)


@pytest.mark.parametrize("layer", LAYERS)
def test_the_eraser_erases_the_active_layer_only(make_window: Any, layer: str) -> None:
    window = make_window()
    for name in LAYERS:
        _paint(window, name, [(8.0, 24.0), (56.0, 24.0)])
    painted = {name: window.doc.layer_alpha(name).copy() for name in LAYERS}
    assert all(painted[name][24, 30] > 0 for name in LAYERS)
    window.set_tool(PAINT_TOOL[layer])  # makes its layer the active one
    window.set_tool("eraser")
    assert window.tool_settings.layer == layer
    window.tool_settings.set_size(16)
    drag(window, [(30.0, 10.0), (30.0, 40.0)])
    after = window.doc.layer_alpha(layer)
    assert not after[16:33, 28:33].any()  # erased right through, no faint pixels left
    assert after[24, 10] == painted[layer][24, 10] > 0  # elsewhere untouched
    for other in LAYERS:
        if other != layer:
            assert np.array_equal(window.doc.layer_alpha(other), painted[other])
    assert window.doc.undo_stack.undoText().endswith(f"({'do-not-borrow' if layer == FORBID else layer})")
    window.doc.undo_stack.undo()
    assert np.array_equal(window.doc.layer_alpha(layer), painted[layer])


def test_erasing_the_guide_leaves_no_stroke_pixels(make_window: Any) -> None:
    """The guide is binary (any coverage counts): the eraser must not leave an antialiased rim on it."""
    window = make_window()
    _paint(window, GUIDE, [(8.0, 24.0), (56.0, 24.0)])
    window.set_tool("eraser")
    window.tool_settings.set_size(9)
    drag(window, [(31.3, 12.0), (31.3, 36.0)])
    guide = window.doc.guide_array()
    _ys, xs = np.nonzero(guide)
    assert guide.any() and not ((xs > 27) & (xs < 36)).any()


def test_the_brush_panel_chooses_the_layer_the_eraser_erases(make_window: Any) -> None:
    window = make_window()
    window.set_tool("eraser")
    combo = window.tool_options.layer
    combo.setCurrentIndex(combo.findData(FORBID))
    assert window.tool_settings.layer == FORBID
    assert window.status_fields.tool.text() == "Eraser (do-not-borrow)"
    window.set_tool("guide")
    assert combo.currentData() == GUIDE  # choosing a painting tool makes its layer active


@pytest.mark.parametrize(("layer", "action"), [(GUIDE, "act_clear_guide"), (FORBID, "act_clear_forbid")])
def test_clear_guide_and_clear_do_not_borrow(make_window: Any, layer: str, action: str) -> None:
    window = make_window()
    steps = window.doc.undo_stack.count()
    getattr(window, action).trigger()
    assert window.doc.undo_stack.count() == steps  # nothing to clear: no step
    _paint(window, layer, [(8.0, 24.0), (56.0, 24.0)])
    _paint(window, MASK, [(8.0, 10.0), (56.0, 10.0)])
    painted = window.doc.layer_alpha(layer).copy()
    getattr(window, action).trigger()
    assert not window.doc.layer_alpha(layer).any()
    assert window.doc.layer_alpha(MASK).any()  # the other layers stay
    window.doc.undo_stack.undo()
    assert np.array_equal(window.doc.layer_alpha(layer), painted)


def _fill(window: Any, qtbot: Any) -> None:
    window.settings.engine = "telea"
    with qtbot.waitSignal(window.inpaint.applied, timeout=30000):
        window.start_inpaint()


def test_a_fill_clears_a_soft_stroke_completely(make_window: Any, qtbot: Any) -> None:
    window = make_window(image=synthetic_photo(120, 160))
    window.set_tool("brush")
    window.tool_settings.set_hardness(0.0)  # soft: a wide rim below the hole threshold
    window.tool_settings.set_size(30)
    drag(window, [(50.0, 60.0), (110.0, 60.0)])
    alpha = window.doc.layer_alpha(MASK)
    faint = (alpha > 0) & (alpha < 128)
    assert faint.sum() > 200  # the rim the old fill left behind
    mask_before = alpha.copy()
    _fill(window, qtbot)
    assert not window.doc.layer_alpha(MASK).any()  # no faint edge left
    steps = window.doc.undo_stack.count()
    window.act_clear.trigger()
    assert window.doc.undo_stack.count() == steps  # "Clear Mask" on an empty mask records no step
    assert window.start_inpaint() == 0  # and Inpaint has nothing to fill
    window.doc.undo_stack.undo()
    assert np.array_equal(window.doc.layer_alpha(MASK), mask_before)


def test_a_fill_clears_the_guide_and_do_not_borrow_it_used(make_window: Any, qtbot: Any) -> None:
    window = make_window(image=synthetic_photo(200, 400))
    _paint(window, MASK, [(60.0, 100.0), (90.0, 100.0)], size=14)
    _paint(window, GUIDE, [(62.0, 100.0), (88.0, 100.0)])
    _paint(window, FORBID, [(120.0, 60.0), (120.0, 140.0)], size=10)  # beside the hole: inside its window
    _paint(window, FORBID, [(380.0, 20.0), (380.0, 180.0)], size=10)  # far away: outside every window
    window.view.set_tool(window.tools["brush"])
    before = {name: window.doc.layer_alpha(name).copy() for name in LAYERS}
    _fill(window, qtbot)
    command = window.doc.undo_stack.command(window.doc.undo_stack.count() - 1)
    (window_box,) = [p.box for p in command.patches]
    assert window_box.contains(120, 100) and not window_box.contains(380, 100)
    assert not window.doc.layer_alpha(MASK).any()
    assert not window.doc.layer_alpha(GUIDE).any()
    forbid = window.doc.layer_alpha(FORBID)
    assert not forbid[window_box.slices].any()  # what this fill used is gone
    assert forbid[100, 380] == before[FORBID][100, 380] > 0  # the far area stays for a later fill
    window.doc.undo_stack.undo()
    assert all(np.array_equal(window.doc.layer_alpha(n), before[n]) for n in LAYERS)
    window.doc.undo_stack.redo()
    assert not window.doc.layer_alpha(GUIDE).any() and forbid[100, 380] > 0


def test_connected_to_takes_the_faint_rim_of_the_strokes_that_made_the_holes() -> None:
    alpha = np.zeros((20, 30), np.uint8)
    alpha[5:15, 5:15] = 60  # a faint rim ...
    alpha[8:12, 8:12] = 255  # ... around the hole
    alpha[5:15, 22:26] = 60  # a separate faint stroke
    hole = alpha >= 128
    selected = mask_ops.connected_to(alpha, hole)
    assert selected[5:15, 5:15].all() and not selected[:, 20:].any()
    assert mask_ops.touches_inner_edge(selected[5:10, :], Box(0, 5, 30, 10), 30, 20)  # cut by the bottom edge
    assert not mask_ops.touches_inner_edge(selected, Box(0, 0, 30, 20), 30, 20)  # the image border is no cut


def test_history_names_mask_selections_as_selections(make_window: Any) -> None:
    window = make_window()
    window.set_tool("rectangle")
    drag(window, [(10.0, 10.0), (30.0, 30.0)])
    assert window.doc.undo_stack.undoText() == "Rectangle selection"
    window.set_tool("lasso")
    drag(window, [(40.0, 10.0), (60.0, 10.0), (50.0, 30.0)])
    assert window.doc.undo_stack.undoText() == "Lasso selection"
    assert window.tool_actions["rectangle"].text() == "Rectangle selection"
