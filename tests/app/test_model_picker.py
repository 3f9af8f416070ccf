"""The Fill panel's model picker: disabled choices with their reasons, loading and converting weights, the model's
facts, --weights for one session only, and error boxes in the editor's language."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QPushButton

from app.main import session_settings
from app.messages import gui_text
from app.settings import AppSettings
from app.widgets.engine_panel import NO_DEVICE, SHIPPED, file_key
from inpaint_core.api import default_engine
from inpaint_core.engine import InpaintEngine
from inpaint_core.errors import InpaintError
from inpaint_core.model import DeepFillV2Generator, GeneratorConfig
from tests.app.qt_helpers import drag
from tests.helpers.fake_engine import FakeEngine
from tests.helpers.photos import synthetic_photo


def _item_enabled(combo: Any, key: str) -> bool:
    model = combo.model()
    assert isinstance(model, QStandardItemModel)
    return bool(model.item(combo.findData(key)).isEnabled())


def _tooltip(combo: Any, key: str) -> str:
    return str(combo.itemData(combo.findData(key), Qt.ItemDataRole.ToolTipRole))


def test_deepfill_without_weights_is_listed_disabled_with_the_reason(
    make_window: Any, no_shipped_weights: Path
) -> None:
    window = make_window()
    combo = window.engine_panel.model
    assert not _item_enabled(combo, SHIPPED)
    assert "No DeepFill weights ship" in _tooltip(combo, SHIPPED)
    assert all(_item_enabled(combo, name) for name in ("auto", "patchmatch", "telea", "ns"))
    assert combo.currentData() == "auto"  # the default engine without weights
    assert window.engine_panel.weights_note.isVisibleTo(window)
    assert window.status_fields.model.text() == "Auto (PatchMatch or Navier-Stokes)"
    assert window.engine_panel.patch_radius.isEnabled()  # Auto reads it


def test_the_shipped_weights_are_the_default_by_their_name(make_window: Any) -> None:
    """A fresh start with the shipped weights: DeepFill is picked, named as the manifest names it, no warning."""
    from inpaint_core.api import shipped_model_info

    shipped = shipped_model_info()
    if shipped is None:
        pytest.skip("no default weights ship in this checkout")
    window = make_window()
    combo = window.engine_panel.model
    assert combo.currentData() == SHIPPED and _item_enabled(combo, SHIPPED)
    assert combo.currentText() == shipped.name and shipped.name.startswith("DeepFill v2 lite (CPU-trained")
    assert window.status_fields.model.text() == shipped.name
    assert (
        not window.engine_panel.model_warning.text()
    )  # it beats the fills without weights: not experimental
    seen = shipped.quality.samples_seen
    assert seen is not None and f"{seen:,} samples" in shipped.name
    # the name says how many samples; the info line under it does not say it twice
    assert window.engine_panel.model_info.text().count(f"{seen:,}") == 1


def test_cuda_without_a_gpu_is_disabled_with_the_reason(make_window: Any) -> None:
    window = make_window(engine=FakeEngine(devices=("auto", "cpu")))  # no GPU here
    device = window.engine_panel.device
    assert not _item_enabled(device, "cuda") and _tooltip(device, "cuda") == NO_DEVICE
    assert _item_enabled(device, "cpu") and _item_enabled(device, "auto")


def test_the_real_engine_reports_this_machine_s_devices(make_window: Any) -> None:
    window = make_window()
    assert _item_enabled(window.engine_panel.device, "cuda") == torch.cuda.is_available()


def test_loading_a_weights_file_lists_it_with_its_facts(
    make_window: Any, random_weights: Path, no_shipped_weights: Path, tmp_path: Path
) -> None:
    window = make_window()
    with_signal = []
    window.weights_loader.loaded.connect(with_signal.append)
    assert window.weights_loader.load(random_weights)
    panel = window.engine_panel
    key = file_key(str(random_weights.resolve()))
    assert panel.model.currentData() == key and _item_enabled(panel.model, key)
    assert window.settings.engine == "deepfill" and window.settings.weights == str(random_weights.resolve())
    info = panel.model_info.text()
    parameters = sum(p.numel() for p in DeepFillV2Generator(GeneratorConfig(cnum=8)).parameters())
    assert random_weights.name in info and f"{parameters / 1e6:.2f} M parameters" in info
    assert "training data not recorded" in info
    assert "random" in window.status_fields.model.text()
    assert not panel.weights_note.isVisibleTo(window)  # a usable DeepFill model now exists
    assert with_signal == [str(random_weights.resolve())]
    reread = AppSettings.from_ini(tmp_path / "settings.ini")
    assert reread.weights_files == [str(random_weights.resolve())]


def test_a_file_that_is_not_our_weights_is_refused_in_gui_words(
    make_window: Any, dialogs: Any, tmp_path: Path
) -> None:
    window = make_window()
    bad = tmp_path / "model.safetensors"
    header = b'{"__metadata__":{"format":"other"}}'
    bad.write_bytes(len(header).to_bytes(8, "little") + header)
    assert not window.weights_loader.load(bad)
    _kind, title, text = dialogs.calls[-1]
    assert title == "Cannot load these weights" and "not a DeepFill Studio weights file" in text
    assert "--" not in text
    assert "snap-0.index or .pth" in text and "converted on the spot" in text  # how to get a usable file
    assert window.settings.weights_files == []


def test_a_missing_weights_file_stays_listed_but_disabled(
    make_window: Any, random_weights: Path, tmp_path: Path
) -> None:
    gone = tmp_path / "gone.safetensors"
    gone.write_bytes(random_weights.read_bytes())
    window = make_window()
    window.weights_loader.load(gone)
    gone.unlink()
    window.engine_panel.load()
    combo = window.engine_panel.model
    key = file_key(str(gone.resolve()))
    assert not _item_enabled(combo, key) and "not found" in _tooltip(combo, key)


def _pth_checkpoint(folder: Path) -> Path:
    torch.manual_seed(0)
    model = DeepFillV2Generator(GeneratorConfig(cnum=8))
    src = folder / "states_tf_places2.pth"  # the PyTorch port's file: TF scope names, key 'G'
    torch.save({"G": {k.split(".", 1)[1]: v for k, v in model.state_dict().items()}}, src)
    return src


def test_a_published_checkpoint_converts_off_the_gui_thread(
    make_window: Any, qtbot: Any, tmp_path: Path
) -> None:
    window = make_window()
    window.settings.models_dir = tmp_path / "models"
    stages: list[str] = []
    window.weights_loader.progress.connect(lambda stage, _f: stages.append(stage))
    with qtbot.waitSignal(window.weights_loader.loaded, timeout=60000) as blocker:
        assert window.weights_loader.load(_pth_checkpoint(tmp_path))
        assert (
            window.convert_progress.dialog is not None and window.convert_progress.dialog.isVisible()
        )  # progress shows
    out = Path(blocker.args[0])
    assert out == tmp_path / "models" / "states_tf_places2.safetensors" and out.is_file()
    assert stages[:3] == ["read", "check", "write"]
    assert window.convert_progress.dialog is None
    assert window.engine_panel.model.currentData() == file_key(str(out))
    assert "trained on Places2" in window.engine_panel.model_info.text()
    assert "Converted from states_tf_places2.pth" in window.engine_panel.model_info.text()
    # a second conversion never overwrites the first
    with qtbot.waitSignal(window.weights_loader.loaded, timeout=60000) as blocker:
        window.weights_loader.load(_pth_checkpoint(tmp_path))
    assert Path(blocker.args[0]).name == "states_tf_places2-2.safetensors"


def test_cancelling_a_conversion_leaves_nothing(make_window: Any, qtbot: Any, tmp_path: Path) -> None:
    engine = (
        FakeEngine()
    )  # its conversion waits at the gate and honours cancel, as the real one between stages
    window = make_window(engine=engine)
    window.settings.models_dir = tmp_path / "models"
    assert window.weights_loader.load(tmp_path / "snap-0.index")
    assert engine.entered.wait(5) and window.weights_loader.busy
    with qtbot.waitSignal(window.weights_loader.busy_changed, timeout=5000):
        assert window.convert_progress.dialog is not None
        window.convert_progress.dialog.findChild(QPushButton).click()  # the dialog's Cancel button
        engine.gate.set()
    assert not window.weights_loader.busy and window.convert_progress.dialog is None
    assert not any((tmp_path / "models").iterdir())
    assert window.settings.weights_files == []


def test_weights_from_the_command_line_last_one_session(random_weights: Path, tmp_path: Path) -> None:
    ini = tmp_path / "settings.ini"
    args = argparse.Namespace(settings=str(ini), weights=str(random_weights))
    settings = session_settings(args)
    assert settings.engine == "deepfill" and settings.weights == str(random_weights.resolve())
    settings.theme = "light"  # any other change is still stored
    settings.sync()
    later = AppSettings.from_ini(ini)  # the next plain launch
    assert later.weights is None and later.engine == default_engine() and later.theme == "light"
    assert later.weights_files == []


def test_the_session_file_shows_in_the_picker(
    make_window: Any, random_weights: Path, app_settings: Any
) -> None:
    app_settings.use_weights_for_session(str(random_weights))
    window = make_window()
    combo = window.engine_panel.model
    key = file_key(str(random_weights))
    assert combo.currentData() == key and "(this session)" in combo.currentText()
    combo.setCurrentIndex(combo.findData("ns"))  # choosing another model in the editor is stored
    assert app_settings.engine == "ns" and app_settings.weights is None
    assert combo.findData(key) >= 0  # the session's file stays listed for the session


def test_core_errors_read_in_gui_words(tmp_path: Path) -> None:
    from inpaint_core.devices import resolve_device
    from inpaint_core.weights import load_generator

    errors: list[InpaintError] = []
    engine = InpaintEngine()
    try:
        engine.resolve_weights(None)  # no weights ship yet in this checkout
    except InpaintError as exc:
        errors.append(exc)
    if not torch.cuda.is_available():
        with pytest.raises(InpaintError) as cuda:
            resolve_device("cuda")
        errors.append(cuda.value)
    not_ours = tmp_path / "x.safetensors"
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(not_ours))
    with pytest.raises(InpaintError) as fmt:
        load_generator(not_ours)
    errors.append(fmt.value)
    assert errors
    for error in errors:
        text = gui_text(error)
        assert "--" not in text and "`" not in text, text
        assert "Fill panel" in text, text


def test_the_weights_missing_question_speaks_gui(make_window: Any, qtbot: Any, dialogs: Any) -> None:
    from inpaint_core.engine import NO_WEIGHTS_MESSAGE
    from inpaint_core.errors import WeightsMissingError

    window = make_window(engine=FakeEngine(error=WeightsMissingError(NO_WEIGHTS_MESSAGE)))
    window.settings.engine = "deepfill"
    window.tool_settings.set_size(10)
    drag(window, [(20.0, 20.0), (40.0, 24.0)])
    with qtbot.waitSignal(window.inpaint.weights_missing, timeout=10000):
        window.start_inpaint()
    _kind, _title, text = dialogs.calls[-1]
    assert "--" not in text and "Fill panel" in text


def test_fast_fills_sets_a_time_budget_and_the_panel_shows_the_model_size(
    make_window: Any, qtbot: Any, random_weights: Path, no_shipped_weights: Path, tmp_path: Path
) -> None:
    """The "Fast fills" option (on by default) asks the engine for an interactive fill; the panel then says what resolution
    the model worked at, and the choice persists."""
    from inpaint_core.api import INTERACTIVE_SECONDS

    window = make_window(image=synthetic_photo(160, 200))
    assert window.weights_loader.load(random_weights)
    panel = window.engine_panel
    assert panel.fast_fills.isChecked() and panel.last_fill.text() == "Last fill: none yet"
    window.tool_settings.set_size(24)
    drag(window, [(80.0, 70.0), (120.0, 90.0)])
    request = window.inpaint.make_request()
    assert request is not None and request.max_seconds == INTERACTIVE_SECONDS
    with qtbot.waitSignal(window.inpaint.applied, timeout=30000):
        window.start_inpaint()
    assert panel.last_fill.isVisibleTo(window)
    assert "Last fill:" in panel.last_fill.text() and "model at " in panel.last_fill.text()
    panel.fast_fills.setChecked(False)
    drag(window, [(40.0, 40.0), (60.0, 40.0)])
    request = window.inpaint.make_request()
    assert request is not None and request.max_seconds is None
    window.settings.sync()
    assert not AppSettings.from_ini(tmp_path / "settings.ini").fast_fills


def test_an_experimental_model_is_marked_and_warned_about(
    make_window: Any, random_weights: Path, no_shipped_weights: Path, tmp_path: Path
) -> None:
    import json

    from tests.core.test_model_info import _with_metadata

    bench = {
        "10-20%": {"deepfill": 19.58, "telea": 20.30, "ns": 20.34},
        "50-60%": {"deepfill": 16.59, "ns": 16.15},
    }
    weak = _with_metadata(
        random_weights, tmp_path / "weak.safetensors", samples_seen="69560", bench_quality=json.dumps(bench)
    )
    window = make_window()
    assert window.weights_loader.load(weak)
    panel = window.engine_panel
    assert panel.model.currentText() == "DeepFill · weak (experimental)"
    info = panel.model_info.text()
    assert "69,560 training samples seen" in info
    assert "10-20 % -0.76 dB" in info and "50-60 % +0.44 dB" in info and "the file's metadata" in info
    warning = panel.model_warning.text()
    assert panel.model_warning.isVisibleTo(window) and "Experimental" in warning and "10-20 %" in warning
    assert "50-60" not in warning  # above classical there
    # A classical engine carries no warning.
    panel.model.setCurrentIndex(panel.model.findData("telea"))
    assert not panel.model_warning.isVisibleTo(window)


def test_model_names_are_not_cut_off_and_same_stems_differ(
    make_window: Any, random_weights: Path, tmp_path: Path
) -> None:
    one, two = tmp_path / "a" / "model.safetensors", tmp_path / "b" / "model.safetensors"
    for path in (one, two):
        path.parent.mkdir()
        path.write_bytes(random_weights.read_bytes())
    window = make_window()
    window.weights_loader.load(one)
    window.weights_loader.load(two)
    combo = window.engine_panel.model
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert "DeepFill · a/model" in labels and "DeepFill · b/model" in labels
    metrics = combo.fontMetrics()
    widest = max(metrics.horizontalAdvance(text) for text in labels)
    assert combo.view().minimumWidth() >= widest  # the open list shows every name whole
    ns = "Navier-Stokes (OpenCV, classical)"
    assert combo.width() >= metrics.horizontalAdvance(ns)  # the closed box too, for the engines' names


def test_fast_fills_promise_no_fill_time(make_window: Any) -> None:
    """The budget covers the model pass only: the box does not promise a fill time, its tooltip says what it
    covers and where the real time shows."""
    box = make_window().engine_panel.fast_fills
    assert " s)" not in box.text()
    assert "network's pass" in box.toolTip() and "Last fill" in box.toolTip()
