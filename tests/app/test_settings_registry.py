"""The editor's settings take their defaults and bounds from the core's registry (one home per fact)."""

from __future__ import annotations

from typing import Any

from app.document import DEFAULT_COLORS, MASK
from app.settings import MASK_COLOR, AppSettings
from app.widgets.engine_panel import EnginePanel
from inpaint_core.api import DEVICE_LABELS, DEVICES, JPEG_QUALITY, MAX_SIDE


def test_defaults_and_bounds_are_the_cores(app_settings: AppSettings) -> None:
    assert app_settings.max_side == MAX_SIDE.default
    assert app_settings.jpeg_quality == JPEG_QUALITY.default
    app_settings.max_side = 10**6
    assert app_settings.max_side == MAX_SIDE.hi
    app_settings.store.setValue("engine/device", "mps")
    assert app_settings.device == "mps"  # every device the engine knows, Apple's GPU included
    assert DEFAULT_COLORS[MASK].name() == MASK_COLOR == app_settings.mask_color.name()


def test_panel_lists_every_device_and_the_cores_range(app_settings: AppSettings, qtbot: Any) -> None:
    panel = EnginePanel(app_settings)
    qtbot.addWidget(panel)
    keys = tuple(panel.device.itemData(i) for i in range(panel.device.count()))
    assert keys == DEVICES
    assert [panel.device.itemText(i) for i in range(panel.device.count())] == [DEVICE_LABELS[k] for k in keys]
    assert (panel.max_side.minimum(), panel.max_side.maximum()) == (MAX_SIDE.lo, MAX_SIDE.hi)
