"""User settings persisted with QSettings (engine, device, resolution, feather, theme, brush, recent files)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtGui import QColor

from inpaint_core.api import ENGINES, MIN_MAX_SIDE, TONE_MODES, default_engine
from inpaint_core.restore.scratches import DEFAULT_MAX_WIDTH, DEFAULT_SENSITIVITY, MAX_WIDTH_LIMIT

DEVICES = ("auto", "cpu", "cuda")
THEMES = ("dark", "light")
MAX_RECENT = 8


class AppSettings:
    """Typed access to a QSettings store. Tests pass a QSettings on an ini file in a temporary folder."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else QSettings("DeepFillStudio", "DeepFill Studio")

    @classmethod
    def from_ini(cls, path: Path) -> AppSettings:
        return cls(QSettings(str(path), QSettings.Format.IniFormat))

    def _get(self, key: str, default: object) -> object:
        value = self.store.value(key, default)
        return default if value is None else value

    def _str(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        value = str(self._get(key, default))
        return value if value in allowed else default

    def _int(self, key: str, default: int, lo: int, hi: int) -> int:
        try:
            return min(hi, max(lo, int(self._get(key, default))))  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return default

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
        self.store.setValue("engine/name", value)

    @property
    def device(self) -> str:
        return self._str("engine/device", "auto", DEVICES)

    @device.setter
    def device(self, value: str) -> None:
        self.store.setValue("engine/device", value)

    @property
    def max_side(self) -> int:
        return self._int("engine/max_side", 512, MIN_MAX_SIDE, 4096)

    @max_side.setter
    def max_side(self, value: int) -> None:
        self.store.setValue("engine/max_side", int(value))

    @property
    def weights(self) -> str | None:
        """A DeepFill weights file chosen by the user; None = the shipped default."""
        value = str(self._get("engine/weights", "") or "")
        return value or None

    @weights.setter
    def weights(self, value: str | None) -> None:
        self.store.setValue("engine/weights", value or "")

    @property
    def feather(self) -> int:
        return self._int("engine/feather", 4, 0, 64)

    @feather.setter
    def feather(self, value: int) -> None:
        self.store.setValue("engine/feather", int(value))

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
        self.store.setValue("ui/theme", value)

    @property
    def mask_color(self) -> QColor:
        color = QColor(str(self._get("ui/mask_color", "#ff283c")))
        return color if color.isValid() else QColor("#ff283c")

    @mask_color.setter
    def mask_color(self, value: QColor) -> None:
        self.store.setValue("ui/mask_color", value.name())

    @property
    def mask_opacity(self) -> float:
        return self._float("ui/mask_opacity", 0.55, 0.05, 1.0)

    @mask_opacity.setter
    def mask_opacity(self, value: float) -> None:
        self.store.setValue("ui/mask_opacity", float(value))

    @property
    def brush_size(self) -> int:
        return self._int("brush/size", 40, 1, 1000)

    @brush_size.setter
    def brush_size(self, value: int) -> None:
        self.store.setValue("brush/size", int(value))

    @property
    def brush_hardness(self) -> float:
        return self._float("brush/hardness", 1.0, 0.0, 1.0)

    @brush_hardness.setter
    def brush_hardness(self, value: float) -> None:
        self.store.setValue("brush/hardness", float(value))

    @property
    def jpeg_quality(self) -> int:
        return self._int("export/jpeg_quality", 92, 1, 100)

    @jpeg_quality.setter
    def jpeg_quality(self, value: int) -> None:
        self.store.setValue("export/jpeg_quality", int(value))

    # files and window
    @property
    def recent_files(self) -> list[str]:
        value = self._get("files/recent", [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            return []
        return [str(v) for v in value][:MAX_RECENT]

    def add_recent(self, path: str) -> None:
        recent = [p for p in self.recent_files if p != path]
        self.store.setValue("files/recent", [path, *recent][:MAX_RECENT])

    @property
    def geometry(self) -> QByteArray | None:
        value = self.store.value("ui/geometry")
        return value if isinstance(value, QByteArray) else None

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self.store.setValue("ui/geometry", value)

    def sync(self) -> None:
        self.store.sync()
