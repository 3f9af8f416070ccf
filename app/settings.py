"""User settings persisted with QSettings (engine, device, resolution, edge blend, theme, brush, recent files), and
session-only overrides (the command line's ``--weights``) that are never written."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtGui import QColor

from inpaint_core.api import (
    DEEPFILL,
    DEVICES,
    EDGE_BLEND,
    ENGINES,
    JPEG_QUALITY,
    MAX_SIDE,
    PATCH_RADIUS_SETTING,
    TONE_MODES,
    IntSetting,
    default_engine,
)
from inpaint_core.restore.detector import METHODS
from inpaint_core.restore.scratches import DEFAULT_MAX_WIDTH, DEFAULT_SENSITIVITY, MAX_WIDTH_LIMIT

THEMES = ("dark", "light")
MAX_RECENT = 8
MAX_WEIGHTS_FILES = 8
# The editor's own defaults and bounds (the core's come from inpaint_core.registry): the brush size in image
# pixels and the mask overlay's colour, which the tool panel and the document read from here.
BRUSH_SIZE = IntSetting(default=40, lo=1, hi=1000)
MASK_COLOR = "#ff283c"


class AppSettings:
    """Typed access to a QSettings store. Tests pass a QSettings on an ini file in a temporary folder."""

    def __init__(self, store: QSettings | None = None, data_folder: Path | None = None) -> None:
        self.store = store if store is not None else QSettings("DeepFillStudio", "DeepFill Studio")
        self._session: dict[str, object] = {}
        self._session_file: str | None = None
        self._data_folder = data_folder

    @classmethod
    def from_ini(cls, path: Path) -> AppSettings:
        """Settings in an ini file; the recovery copies go beside it (tests, portable use), never to the
        user's app-data folder."""
        return cls(QSettings(str(path), QSettings.Format.IniFormat), data_folder=Path(path).parent)

    @property
    def data_folder(self) -> Path:
        """The editor's own files (recovery copies, converted weights): the platform's per-user app-data folder,
        e.g. ~/.local/share/DeepFill Studio on Linux, %LOCALAPPDATA%\\DeepFillStudio\\DeepFill Studio on Windows,
        ~/Library/Application Support/DeepFill Studio on macOS; beside the ini file for tests and portable use."""
        if self._data_folder is not None:
            return self._data_folder
        return platformdirs.user_data_path("DeepFill Studio", "DeepFillStudio")

    @property
    def recovery_folder(self) -> Path:
        """Where the editor keeps its autosaved recovery copies (app/recovery.py)."""
        return self.data_folder / "recovery"

    def _get(self, key: str, default: object) -> object:
        if key in self._session:
            return self._session[key]
        value = self.store.value(key, default)
        return default if value is None else value

    def _set(self, key: str, value: object) -> None:
        """Store ``value``; a choice made in the editor replaces a session override of the same key."""
        self._session.pop(key, None)
        self.store.setValue(key, value)

    def use_weights_for_session(self, path: str) -> None:
        """Use DeepFill with ``path`` (the command line's ``--weights``) until the user chooses another model;
        nothing is stored, so a later plain launch is back to the user's own choice."""
        self._session["engine/name"] = DEEPFILL
        self._session["engine/weights"] = path
        self._session_file = path

    @property
    def session_weights(self) -> str | None:
        """The weights file given for this session only (None when there is none); the model picker lists it
        for the whole session, chosen or not."""
        return self._session_file

    def _str(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        value = str(self._get(key, default))
        return value if value in allowed else default

    def _int(self, key: str, default: int, lo: int, hi: int) -> int:
        try:
            return min(hi, max(lo, int(self._get(key, default))))  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return default

    def _setting(self, key: str, setting: IntSetting) -> int:
        return self._int(key, setting.default, setting.lo, setting.hi)

    def _float(self, key: str, default: float, lo: float, hi: float) -> float:
        try:
            return min(hi, max(lo, float(self._get(key, default))))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return default

    # engine
    @property
    def engine(self) -> str:
        return self._str("engine/name", default_engine(), ENGINES)

    @engine.setter
    def engine(self, value: str) -> None:
        self._set("engine/name", value)

    @property
    def device(self) -> str:
        return self._str("engine/device", "auto", DEVICES)

    @device.setter
    def device(self, value: str) -> None:
        self._set("engine/device", value)

    @property
    def max_side(self) -> int:
        return self._setting("engine/max_side", MAX_SIDE)

    @max_side.setter
    def max_side(self, value: int) -> None:
        self._set("engine/max_side", int(value))

    @property
    def fast_fills(self) -> bool:
        """Lower the model resolution so one fill takes about INTERACTIVE_SECONDS on this device
        (InpaintRequest.max_seconds); on by default: a fill is waited for at the click."""
        return str(self._get("engine/fast_fills", "true")).lower() in ("true", "1")

    @fast_fills.setter
    def fast_fills(self, value: bool) -> None:
        self._set("engine/fast_fills", bool(value))

    @property
    def weights(self) -> str | None:
        """A DeepFill weights file chosen by the user; None = the shipped default."""
        value = str(self._get("engine/weights", "") or "")
        return value or None

    @weights.setter
    def weights(self, value: str | None) -> None:
        self._set("engine/weights", value or "")

    @property
    def weights_files(self) -> list[str]:
        """Weights files the user loaded in the model picker, newest first."""
        return self._list("engine/weights_files")[:MAX_WEIGHTS_FILES]

    def add_weights_file(self, path: str) -> None:
        files = [p for p in self.weights_files if p != path]
        self._set("engine/weights_files", [path, *files][:MAX_WEIGHTS_FILES])

    def remove_weights_file(self, path: str) -> None:
        self._set("engine/weights_files", [p for p in self.weights_files if p != path])

    @property
    def models_dir(self) -> Path:
        """Where converted checkpoints are written (the user's application-data folder unless set)."""
        value = str(self._get("engine/models_dir", "") or "")
        if value:
            return Path(value)
        return self.data_folder / "weights"

    @models_dir.setter
    def models_dir(self, value: Path) -> None:
        self._set("engine/models_dir", str(value))

    @property
    def auto_fill(self) -> bool:
        """Fill as soon as a mask stroke or selection ends (as IOPaint does)."""
        return str(self._get("engine/auto_fill", "false")).lower() in ("true", "1")

    @auto_fill.setter
    def auto_fill(self, value: bool) -> None:
        self._set("engine/auto_fill", bool(value))

    @property
    def edge_blend(self) -> int:
        """Px outside the mask the fill fades across (InpaintRequest.edge_blend). A new key: the old
        "engine/feather" blended inside the hole, so its stored value must not carry over."""
        return self._setting("engine/edge_blend", EDGE_BLEND)

    @edge_blend.setter
    def edge_blend(self, value: int) -> None:
        self._set("engine/edge_blend", int(value))

    @property
    def patch_radius(self) -> int:
        """PatchMatch's patch radius (InpaintRequest.patch_radius; PatchMatch and Auto)."""
        return self._setting("engine/patch_radius", PATCH_RADIUS_SETTING)

    @patch_radius.setter
    def patch_radius(self, value: int) -> None:
        self._set("engine/patch_radius", int(value))

    # restoration and provenance (app/restore_controller.py, app/provenance_controller.py)
    @property
    def tone(self) -> str:
        """InpaintRequest.tone: "auto" keeps a grey or sepia photo's fills in its tone, "off" does not."""
        return self._str("restore/tone", "auto", TONE_MODES)

    @tone.setter
    def tone(self, value: str) -> None:
        self.store.setValue("restore/tone", value)

    @property
    def scratch_sensitivity(self) -> float:
        return self._float("restore/scratch_sensitivity", DEFAULT_SENSITIVITY, 0.0, 1.0)

    @scratch_sensitivity.setter
    def scratch_sensitivity(self, value: float) -> None:
        self.store.setValue("restore/scratch_sensitivity", float(value))

    @property
    def scratch_max_width(self) -> int:
        return self._int("restore/scratch_max_width", DEFAULT_MAX_WIDTH, 1, MAX_WIDTH_LIMIT)

    @scratch_max_width.setter
    def scratch_max_width(self, value: int) -> None:
        self.store.setValue("restore/scratch_max_width", int(value))

    @property
    def scratch_method(self) -> str:
        """The scratch detector (restore/detector.py): "auto" (learned when its weights ship), "learned" or
        "classical"."""
        return self._str("restore/scratch_method", "auto", METHODS)

    @scratch_method.setter
    def scratch_method(self, value: str) -> None:
        self.store.setValue("restore/scratch_method", value)

    @property
    def write_provenance(self) -> bool:
        """Write the provenance sidecar beside every saved photo that has fills (the note is always embedded)."""
        return str(self._get("restore/write_provenance", "true")).lower() not in ("false", "0", "no")

    @write_provenance.setter
    def write_provenance(self, value: bool) -> None:
        self.store.setValue("restore/write_provenance", "true" if value else "false")

    # look
    @property
    def theme(self) -> str:
        return self._str("ui/theme", "dark", THEMES)

    @theme.setter
    def theme(self, value: str) -> None:
        self._set("ui/theme", value)

    @property
    def mask_color(self) -> QColor:
        color = QColor(str(self._get("ui/mask_color", MASK_COLOR)))
        return color if color.isValid() else QColor(MASK_COLOR)

    @mask_color.setter
    def mask_color(self, value: QColor) -> None:
        self._set("ui/mask_color", value.name())

    @property
    def mask_opacity(self) -> float:
        return self._float("ui/mask_opacity", 0.55, 0.05, 1.0)

    @mask_opacity.setter
    def mask_opacity(self, value: float) -> None:
        self._set("ui/mask_opacity", float(value))

    @property
    def brush_size(self) -> int:
        return self._setting("brush/size", BRUSH_SIZE)

    @brush_size.setter
    def brush_size(self, value: int) -> None:
        self._set("brush/size", int(value))

    @property
    def brush_hardness(self) -> float:
        return self._float("brush/hardness", 1.0, 0.0, 1.0)

    @brush_hardness.setter
    def brush_hardness(self, value: float) -> None:
        self._set("brush/hardness", float(value))

    @property
    def jpeg_quality(self) -> int:
        return self._setting("export/jpeg_quality", JPEG_QUALITY)

    @jpeg_quality.setter
    def jpeg_quality(self, value: int) -> None:
        self._set("export/jpeg_quality", int(value))

    # files and window
    def _list(self, key: str) -> list[str]:
        value = self._get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            return []
        return [str(v) for v in value]

    @property
    def recent_files(self) -> list[str]:
        return self._list("files/recent")[:MAX_RECENT]

    def add_recent(self, path: str) -> None:
        recent = [p for p in self.recent_files if p != path]
        self._set("files/recent", [path, *recent][:MAX_RECENT])

    @property
    def last_folder(self) -> str:
        """The folder of the last file chosen in a file dialog ("" before the first)."""
        return str(self._get("files/last_folder", "") or "")

    @last_folder.setter
    def last_folder(self, value: str) -> None:
        self.store.setValue("files/last_folder", value)

    @property
    def geometry(self) -> QByteArray | None:
        value = self.store.value("ui/geometry")
        return value if isinstance(value, QByteArray) else None

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self._set("ui/geometry", value)

    @property
    def window_state(self) -> QByteArray | None:
        """The docks' places and sizes (`QMainWindow.saveState`), None before the first close."""
        value = self.store.value("ui/state")
        return value if isinstance(value, QByteArray) else None

    @window_state.setter
    def window_state(self, value: QByteArray) -> None:
        self._set("ui/state", value)

    def sync(self) -> None:
        self.store.sync()
