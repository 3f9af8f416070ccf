"""An honest record of what was filled: the fills made, a sidecar folder beside the saved photo, and a note in it.

Archivists and journalists must be able to show what in a restored photo is not original. So a saved photo
carries a short note (PNG text + XMP; JPEG, TIFF and WEBP XMP) that says it contains filled regions and names its
sidecar, and the sidecar `<photo stem>.provenance/` beside it holds:

    README.txt                  what these files are, in plain words
    provenance.json             engine, model name and weights SHA-256, dates, the fills in order with their boxes
    filled-pixels.png           white = not original (any fill, or any pixel that differs from the original)
    fill-regions.png            each fill's region in its own colour, numbered in the order of the fills
    fill-index.png              grey levels: 0 = original, n = made by fill n (the last one over that pixel)
    attention-flow.png          DeepFill and PatchMatch fills: where each filled pixel came from, as flow colours (+ legend)
    source-reuse.png            DeepFill and PatchMatch fills: how much each area was borrowed (+ legend; restore/reuse.py)

The record of a fill (`FillRecord`) is made from the engine's request and result (`record_fill`); a caller keeps
them in order (the editor drops one when its fill is undone) and hands them to `write_sidecar` and
`embedded_note` when the photo is saved.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from inpaint_core import __version__
from inpaint_core.boxes import Box
from inpaint_core.errors import InpaintError, OutputExistsError, Remedy
from inpaint_core.files import StagedOutputs, sha256_file
from inpaint_core.flow import AttentionField
from inpaint_core.flow import legend as flow_legend
from inpaint_core.image_io import load_image, save_image
from inpaint_core.manifest import resolve_weights
from inpaint_core.metadata import xmp_packet
from inpaint_core.registry import AUTO, DEEPFILL, PATCHMATCH, engine_label
from inpaint_core.restore.reuse import reuse_density, reuse_legend, reuse_rgba

if TYPE_CHECKING:
    from inpaint_core.api import InpaintRequest, InpaintResult

PROVENANCE_FORMAT = "deepfill-studio-provenance/1"
SOFTWARE = f"DeepFill Studio {__version__}"
SIDECAR_SUFFIX = ".provenance"
RECORD_NAME = "provenance.json"
FILES: dict[str, str] = {
    "record": RECORD_NAME,
    "readme": "README.txt",
    "filled_pixels": "filled-pixels.png",
    "fill_regions": "fill-regions.png",
    "fill_index": "fill-index.png",
    "attention_flow": "attention-flow.png",
    "attention_flow_legend": "attention-flow-legend.png",
    "source_reuse": "source-reuse.png",
    "source_reuse_legend": "source-reuse-legend.png",
}
# IPTC Digital Source Type (cv.iptc.org/newscodes/digitalsourcetype): "edited with generative AI" for fills by a
# trained model, "composite of synthetic elements" for classical fills.
DIGITAL_SOURCE_TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
DIGITAL_SOURCE_CLASSICAL = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic"
XMP_NAMESPACE = "urn:deepfill-studio:provenance:1"
# Fill colours of fill-regions.png (tab10), cycled.
_PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
            (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]  # fmt: skip


@dataclass(frozen=True)
class ModelIdentity:
    """Which network made a fill: a readable name, the weights file's name and its SHA-256."""

    name: str
    file: str
    sha256: str


@dataclass(frozen=True, eq=False)
class FillRecord:
    """One fill as it was made. Only the filled pixels' bounding box is stored, so a long editing session with
    many small fills on a large photo stays small."""

    image_size: tuple[int, int]  # (height, width) of the photo
    box: Box  # bounding box of the filled pixels (empty for an empty mask)
    region: np.ndarray  # (box.height, box.width) bool: the filled pixels inside the box
    engine: str
    when: str  # ISO 8601, UTC
    model: ModelIdentity | None = None  # None for classical engines
    attention: AttentionField | None = None
    windows: tuple[Box, ...] = ()
    settings: dict[str, object] = field(default_factory=dict)
    note: str = ""

    @classmethod
    def from_mask(cls, mask: np.ndarray, engine: str, when: str | None = None, **extra: object) -> FillRecord:
        """A record for the pixels of an (H, W) mask (nonzero = filled)."""
        hole = np.asarray(mask) > 0
        ys, xs = np.nonzero(hole)
        box = Box(0, 0, 0, 0)
        if ys.size:
            box = Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        size = (int(hole.shape[0]), int(hole.shape[1]))
        return cls(size, box, hole[box.slices].copy(), engine, when or _now(), **extra)  # type: ignore[arg-type]

    @property
    def pixels(self) -> int:
        """How many pixels the fill replaced."""
        return int(self.region.sum())

    @property
    def mask(self) -> np.ndarray:
        """The filled pixels as a full-size (H, W) bool mask (made on demand)."""
        out = np.zeros(self.image_size, bool)
        out[self.box.slices] = self.region
        return out

    @property
    def generative(self) -> bool:
        """True when a trained model made the fill."""
        return self.model is not None


@dataclass(frozen=True)
class EmbeddedNote:
    """What `save_image(..., text=note.text, xmp=note.xmp)` embeds in a saved photo."""

    text: dict[str, str]
    xmp: bytes


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@cache
def _identify(path: str, mtime_ns: int, size: int) -> ModelIdentity:
    return replace(_name_weights(Path(path)), sha256=sha256_file(path))


def _name_weights(path: Path) -> ModelIdentity:
    """The weights' name from their header ("DeepFill v2 (cnum=48)"), without a hash (sha256 "")."""
    from safetensors import safe_open

    name = "DeepFill v2"
    try:
        with safe_open(path, framework="numpy") as fh:
            # The config JSON's two keys are read directly (GeneratorConfig's defaults: cnum 48, no guide):
            # importing the model package would load torch, and the editor records fills without it.
            config = json.loads((fh.metadata() or {})["config"])
        cnum, guide = int(config.get("cnum", 48)), bool(config.get("guide_channel", False))
        name += f" (cnum={cnum}{', guide channel' if guide else ''})"
    except Exception:  # an unreadable header only loses the detail in the name; the hash still identifies it
        pass
    return ModelIdentity(name=name, file=path.name, sha256="")


def identify_weights(weights: str | Path | None) -> ModelIdentity:
    """The identity of these weights (None = the shipped default); hashed once per file version. No torch."""
    path, _ = resolve_weights(weights)
    try:
        stat = path.stat()
    except OSError:
        raise InpaintError(f"weights file not found: {path}") from None
    return _identify(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def record_fill(
    request: InpaintRequest,
    result: InpaintResult,
    *,
    model: ModelIdentity | None = None,
    when: str | None = None,
    mask_proposed_by: str | None = None,
) -> FillRecord:
    """The record of one engine run (call it right after `InpaintEngine.run`).

    For DeepFill the weights are those the result says were used (its path and SHA-256, hashed by the engine on
    its own thread); unless `model` is given. A result from an engine that does not report them (a stand-in) has
    the request's weights identified here instead. `mask_proposed_by`: the scratch detector ("learned",
    "classical") whose proposal was the mask, unedited (the CLI's --auto-scratches), kept in the settings.
    """
    if request.engine == DEEPFILL and model is None:
        if result.weights is not None and result.weights_sha256:
            model = replace(_name_weights(result.weights), sha256=result.weights_sha256)
        else:
            model = identify_weights(request.weights)
    settings: dict[str, object] = {
        "max_side": request.max_side,
        "edge_blend": request.edge_blend,
        "tone": request.tone,
        "forbid_mask": request.forbid is not None and bool(np.any(request.forbid)),
        "guide_strokes": request.guide is not None and bool(np.any(request.guide)),
    }
    if request.engine == DEEPFILL:  # what ran: the result's concrete values, else the request's
        settings |= {
            "device": result.device or request.device,
            "precision": result.precision or request.precision,
            "match_seam": request.match_seam,
        }
    if request.engine in (PATCHMATCH, AUTO):
        settings["patch_radius"] = request.patch_radius
    if mask_proposed_by:
        settings["mask_proposed_by"] = f"{mask_proposed_by} scratch detector"
    return FillRecord.from_mask(
        request.mask,
        request.engine,
        when,
        model=model if request.engine == DEEPFILL else None,
        attention=result.attention,
        windows=tuple(result.windows),
        settings=settings,
        note=result.note,
    )


# ------------------------------------------------------------------------------------------------- the maps


def not_original(
    shape: tuple[int, ...],
    fills: Sequence[FillRecord],
    original: np.ndarray | None = None,
    result: np.ndarray | None = None,
) -> np.ndarray:
    """Every pixel that is not original: inside any fill, or different from `original` in `result`.

    Shape: -> (H, W) bool
    """
    out = np.zeros(shape[:2], bool)
    for fill in fills:
        out[fill.box.slices] |= fill.region
    if original is not None and result is not None and original.shape == result.shape:
        diff = original != result
        out |= diff.any(axis=2) if diff.ndim == 3 else diff
    return out


def fill_index(shape: tuple[int, ...], fills: Sequence[FillRecord]) -> np.ndarray:
    """0 = original, n = made by fill n (1-based; the last fill over a pixel wins).

    Shape: -> (H, W) uint8, or uint16 beyond 255 fills
    """
    index = np.zeros(shape[:2], np.uint8 if len(fills) < 256 else np.uint16)
    for n, fill in enumerate(fills, start=1):
        index[fill.box.slices][fill.region] = n
    return index


def fill_regions_rgba(shape: tuple[int, ...], fills: Sequence[FillRecord]) -> np.ndarray:
    """Each fill's region in its own colour, outlined, with its number beside its box; transparent elsewhere.

    Shape: -> (H, W, 4) uint8
    """
    height, width = shape[:2]
    out = np.zeros((height, width, 4), np.uint8)
    scale = max(0.4, min(height, width) / 800.0)
    for n, fill in enumerate(fills, start=1):
        colour = _PALETTE[(n - 1) % len(_PALETTE)]
        crop = out[fill.box.slices]
        crop[fill.region] = (*colour, 200)
        region = np.pad(fill.region, 1).astype(np.uint8)  # padded: the box edge is not the region's edge
        edge = cv2.morphologyEx(region, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))[1:-1, 1:-1] > 0
        crop[edge & fill.region] = (*colour, 255)
    for n, fill in enumerate(fills, start=1):  # numbers last, so a later fill's colour never hides them
        box = fill.box
        if box.is_empty():
            continue
        label = str(n)
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        x = int(np.clip(box.x0, 0, max(0, width - tw - 2)))
        y = int(np.clip(box.y0 - 3 if box.y0 - 3 - th >= 0 else box.y1 + th + 3, th + 1, height - 1))
        cv2.rectangle(out, (x, y - th - 2), (x + tw + 2, y + 2), (255, 255, 255, 230), -1)
        cv2.putText(out, label, (x + 1, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0, 255), 2, cv2.LINE_AA)
    return out


def attention_flow_rgba(shape: tuple[int, ...], fills: Sequence[FillRecord]) -> np.ndarray | None:
    """The flow colours of all fills with sources (DeepFill, PatchMatch), later fills over earlier ones; None
    when no fill has any.

    Shape: -> (H, W, 4) uint8
    """
    out: np.ndarray | None = None
    for fill in fills:
        if fill.attention is None:
            continue
        flow = fill.attention.flow_rgba(shape[0], shape[1])
        if out is None:
            out = np.zeros_like(flow)
        drawn = flow[..., 3] > 0
        out[drawn] = flow[drawn]
    return out


def source_reuse(shape: tuple[int, ...], fills: Sequence[FillRecord]) -> np.ndarray | None:
    """The summed reuse density of all fills with sources (restore/reuse.py); None when no fill has attention.

    Shape: -> (H, W) float32
    """
    total: np.ndarray | None = None
    for fill in fills:
        if fill.attention is not None:
            density = reuse_density(fill.attention)
            total = density if total is None else total + density
    return total


# ----------------------------------------------------------------------------------------------- the record


def sidecar_path(image_path: str | os.PathLike[str]) -> Path:
    """The sidecar folder of a saved photo: `photo.png` -> `photo.provenance` beside it."""
    path = Path(image_path)
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def _box_list(box: Box) -> list[int]:
    return [box.x0, box.y0, box.x1, box.y1]


def provenance_record(
    image_name: str,
    shape: tuple[int, ...],
    fills: Sequence[FillRecord],
    filled_pixels: int,
    files: Sequence[str] = (),
) -> dict[str, object]:
    """The content of provenance.json (boxes are [x0, y0, x1, y1], half-open, in image pixels)."""
    height, width = shape[:2]
    models: dict[str, dict[str, str]] = {}
    for fill in fills:
        if fill.model is not None:
            models[fill.model.sha256] = {
                "name": fill.model.name, "file": fill.model.file, "sha256": fill.model.sha256
            }  # fmt: skip
    return {
        "format": PROVENANCE_FORMAT,
        "software": SOFTWARE,
        "image": image_name,
        "width": width,
        "height": height,
        "written": _now(),
        "filled_pixels": filled_pixels,
        "filled_fraction": round(filled_pixels / max(1, width * height), 6),
        "engines": sorted({fill.engine for fill in fills}),
        "models": list(models.values()),
        "fills": [fill_entry(fill, n) for n, fill in enumerate(fills, start=1)],
        "files": {key: name for key, name in FILES.items() if name in files},
    }


def fill_entry(fill: FillRecord, index: int) -> dict[str, object]:
    """One fill as provenance.json lists it (also the recovery copy's form; `fill_from_entry` reads it back)."""
    return {
        "index": index,
        "engine": fill.engine,
        "engine_name": engine_label(fill.engine),
        "model": fill.model.name if fill.model else None,
        "weights_file": fill.model.file if fill.model else None,
        "weights_sha256": fill.model.sha256 if fill.model else None,
        "date": fill.when,
        "box": _box_list(fill.box),
        "pixels": fill.pixels,
        "windows": [_box_list(b) for b in fill.windows],
        "settings": fill.settings,
        "note": fill.note,
    }


def fill_from_entry(entry: dict[str, object], image_size: tuple[int, int], region: np.ndarray) -> FillRecord:
    """A fill record from its provenance.json entry and its region (box-sized bool); the attention field is
    not in the record, so it is None. Raises ValueError on a malformed entry."""
    try:
        box = Box(*(int(v) for v in entry["box"]))  # type: ignore[attr-defined]
        windows = tuple(Box(*(int(v) for v in w)) for w in entry.get("windows") or ())  # type: ignore[attr-defined]
        model = None
        if entry.get("model"):
            model = ModelIdentity(str(entry["model"]), str(entry.get("weights_file") or ""),
                                  str(entry.get("weights_sha256") or "unknown"))  # fmt: skip
        settings = entry.get("settings") or {}
        region = np.asarray(region, bool)
        if region.shape != (box.height, box.width):
            raise ValueError(f"a fill's region is {region.shape}, its box {box.height}x{box.width}")
        return FillRecord(
            image_size, box, region, str(entry["engine"]), str(entry.get("date") or ""), model, None, windows,
            dict(settings) if isinstance(settings, dict) else {}, str(entry.get("note") or ""),
        )  # fmt: skip
    except (KeyError, TypeError) as exc:
        raise ValueError(f"a fill entry is malformed ({exc})") from None


def read_sidecar(image_path: str | os.PathLike[str], shape: tuple[int, ...]) -> list[FillRecord]:
    """The fills recorded in the sidecar beside `image_path` (a photo opened again, to carry its earlier fills
    into the next save). Each fill's region is read from fill-index.png (a pixel filled twice counts for the later
    fill) or, without it, filled-pixels.png inside the fill's box. [] when there is no sidecar.

    Raises:
        InpaintError: the sidecar is unreadable, of another format, or of another image size.
    """
    folder = sidecar_path(image_path)
    record_file = folder / RECORD_NAME
    if not record_file.is_file():
        return []
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
        if record.get("format") != PROVENANCE_FORMAT:
            raise ValueError(f"format {record.get('format')!r}")
        size = (int(shape[0]), int(shape[1]))
        if (int(record["height"]), int(record["width"])) != size:
            raise ValueError(f"it describes a {record['width']}x{record['height']} image")
        index_file, pixels_file = folder / FILES["fill_index"], folder / FILES["filled_pixels"]
        index = load_image(index_file).pixels if index_file.is_file() else None
        filled = load_image(pixels_file).pixels > 0 if index is None and pixels_file.is_file() else None
        fills = []
        for n, entry in enumerate(record["fills"], start=1):
            box = Box(*(int(v) for v in entry["box"]))
            if index is not None:
                region = index[box.slices] == n
            elif filled is not None:
                region = filled[box.slices]
            else:
                # no map: the whole box, not less than was filled
                region = np.ones((box.height, box.width), bool)
            fills.append(fill_from_entry(entry, size, region))
        return fills
    except InpaintError as exc:
        raise InpaintError(f"{folder}: the provenance record cannot be read ({exc})") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InpaintError(f"{folder}: the provenance record cannot be read ({exc})") from None


def read_note(image_path: str | os.PathLike[str]) -> tuple[int, int | None] | None:
    """What a saved photo's embedded note says: (filled regions, filled pixels or None); None without a note."""
    from PIL import Image

    try:
        with Image.open(image_path) as image:
            info = dict(image.info)
            text = dict(getattr(image, "text", {}) or {})
    except (OSError, ValueError, SyntaxError):  # Pillow raises SyntaxError on some broken headers
        return None
    xmp = info.get("xmp") or text.get("XML:com.adobe.xmp") or b""
    xmp_text = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else str(xmp)
    regions = re.search(r'dfs:FilledRegions="(\d+)"', xmp_text)
    pixels = re.search(r'dfs:FilledPixels="(\d+)"', xmp_text)
    if regions:
        return int(regions.group(1)), int(pixels.group(1)) if pixels else None
    described = re.search(
        r"contains (\d+) filled \(inpainted\) regions?(?: \((\d+) pixels\))?", text.get("Description", "")
    )
    if described:
        return int(described.group(1)), int(described.group(2)) if described.group(2) else None
    return None


def note_only_fills(image_size: tuple[int, int], regions: int, pixels: int | None) -> list[FillRecord]:
    """Stand-ins for earlier fills a photo's note names but whose sidecar is gone: counted, with no region."""
    amount = f"{pixels} px in all" if pixels is not None else "pixel count not recorded"
    note = f"an earlier fill named only by the photo's note ({amount}); where it lies is not recorded"
    empty = np.zeros(image_size, bool)
    return [FillRecord.from_mask(empty, "unknown", "", note=note) for _ in range(regions)]


def _readme(
    image_name: str, fills: Sequence[FillRecord], filled_pixels: int, total: int, files: Sequence[str]
) -> str:
    lines = [
        f"Provenance of {image_name}: NOT EVERY PIXEL OF THIS IMAGE IS ORIGINAL.",
        "",
        f"{len(fills)} region(s) were filled (inpainted) with {SOFTWARE}: {filled_pixels} pixels, "
        f"{filled_pixels / max(1, total):.2%} of the image.",
        "",
    ]
    for n, fill in enumerate(fills, start=1):
        box = fill.box
        what = engine_label(fill.engine)
        if fill.model is not None:
            what = f"{fill.model.name}, weights {fill.model.file} SHA-256 {fill.model.sha256}"
        lines.append(
            f"  fill {n}: {fill.pixels} px in x {box.x0}..{box.x1 - 1}, y {box.y0}..{box.y1 - 1}; "
            f"{what}; {fill.when}"
        )
    described = {
        FILES["record"]: "all of the above, machine-readable",
        FILES["filled_pixels"]: "white = not original",
        FILES["fill_regions"]: "each fill's region in its own colour, numbered in order",
        FILES["fill_index"]: "grey level n = made by fill n, 0 = original",
        FILES[
            "attention_flow"
        ]: "DeepFill and PatchMatch: where each filled pixel came from (colour wheel in the legend)",
        FILES["source_reuse"]: "DeepFill and PatchMatch: how much each area of the photo was borrowed "
        "(scale in the legend)",
    }
    lines += ["", "Files:"] + [f"  {name}: {text}" for name, text in described.items() if name in files]
    return "\n".join(lines) + "\n"


def write_sidecar(
    image_path: str | os.PathLike[str],
    fills: Sequence[FillRecord],
    *,
    shape: tuple[int, ...],
    original: np.ndarray | None = None,
    result: np.ndarray | None = None,
    overwrite: bool = False,
    stage: StagedOutputs | None = None,
) -> Path:
    """Write the sidecar folder of the photo saved (or about to be saved) at `image_path`; returns the folder.

    Written into a temporary folder beside it (swept like a temporary file if the process is killed), then
    renamed into place, so no half-written sidecar is ever seen. With `stage` the rename waits for the stage's
    commit, which renames the photo first: a record never exists without its photo. Refuses an existing
    sidecar unless `overwrite` (OutputExistsError).
    """
    image_path = Path(image_path)
    folder = sidecar_path(image_path)
    check_sidecar_path(image_path, overwrite)
    if not fills:
        raise InpaintError("nothing was filled, so there is no provenance to write")
    for fill in fills:
        if fill.image_size != tuple(shape[:2]):
            got, want = fill.image_size, shape[:2]
            raise InpaintError(
                f"a fill was made on a {got[1]}x{got[0]} image but this one is {want[1]}x{want[0]}"
            )
    changed = not_original(shape, fills, original, result)
    own = StagedOutputs() if stage is None else None
    staging = own or stage
    assert staging is not None
    tmp: Path | None = None
    try:
        tmp = staging.folder(folder)
        written = _write_maps(tmp, shape, fills, changed)
        record = provenance_record(
            image_path.name, shape, fills, int(changed.sum()), [*written, RECORD_NAME, FILES["readme"]]
        )
        (tmp / RECORD_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        (tmp / FILES["readme"]).write_text(
            _readme(image_path.name, fills, int(changed.sum()), changed.size, [*written, RECORD_NAME]),
            encoding="utf-8",
        )
        if own is not None:
            own.commit()
    except BaseException as exc:
        if tmp is not None:
            staging.drop(tmp)
        if isinstance(exc, OSError):
            raise InpaintError(
                f"{folder}: cannot write the provenance sidecar ({exc.strerror or exc})"
            ) from None
        raise
    return folder


def check_sidecar_path(image_path: str | os.PathLike[str], overwrite: bool = False) -> None:
    """Raise unless the sidecar of `image_path` can be written (free or `overwrite`, folder exists)."""
    folder = sidecar_path(image_path)
    if folder.exists() and not overwrite:
        raise OutputExistsError(f"{folder} exists", remedy=Remedy.OVERWRITE)
    if folder.exists() and not folder.is_dir():
        raise InpaintError(f"{folder} exists and is not a folder")
    if not folder.parent.is_dir():
        raise InpaintError(f"{folder.parent}: output folder does not exist")


def _write_maps(
    folder: Path, shape: tuple[int, ...], fills: Sequence[FillRecord], changed: np.ndarray
) -> list[str]:
    save_image(folder / FILES["filled_pixels"], np.where(changed, np.uint8(255), np.uint8(0)))
    save_image(folder / FILES["fill_regions"], fill_regions_rgba(shape, fills))
    save_image(folder / FILES["fill_index"], fill_index(shape, fills))
    written = [FILES["filled_pixels"], FILES["fill_regions"], FILES["fill_index"]]
    flow = attention_flow_rgba(shape, fills)
    if flow is not None:
        save_image(folder / FILES["attention_flow"], flow)
        save_image(folder / FILES["attention_flow_legend"], flow_legend(256))
        written += [FILES["attention_flow"], FILES["attention_flow_legend"]]
    reuse = source_reuse(shape, fills)
    if reuse is not None:
        save_image(folder / FILES["source_reuse"], reuse_rgba(reuse))
        save_image(folder / FILES["source_reuse_legend"], reuse_legend(320, 64))
        written += [FILES["source_reuse"], FILES["source_reuse_legend"]]
    return written


# --------------------------------------------------------------------------------------------- the note


def embedded_note(
    fills: Sequence[FillRecord], sidecar: str | None, shape: tuple[int, ...] | None = None
) -> EmbeddedNote:
    """The short note a saved photo carries: it contains filled regions, by what, and where the sidecar is.

    `sidecar`: the sidecar's record path relative to the photo (e.g. "photo.provenance/provenance.json"),
    or None when none is written. Embed it with `save_image(..., text=note.text, xmp=note.xmp)`.
    """
    count = len(fills)
    engines = ", ".join(dict.fromkeys(engine_label(f.engine) for f in fills)) or "none"
    pixels = int(not_original(shape, fills).sum()) if shape is not None and fills else None
    amount = f" ({pixels} pixels)" if pixels is not None else ""
    description = (
        f"Not every pixel is original: this image contains {count} filled (inpainted) region"
        f"{'s' if count != 1 else ''}{amount}, made with {engines} in {SOFTWARE}."
    )
    description += f" Provenance record: {sidecar}" if sidecar else " No provenance record was saved."
    source = DIGITAL_SOURCE_TRAINED if any(f.generative for f in fills) else DIGITAL_SOURCE_CLASSICAL
    properties = {
        "xmp:CreatorTool": SOFTWARE,
        "Iptc4xmpExt:DigitalSourceType": source,
        "dfs:FilledRegions": str(count),
    }
    if pixels is not None:
        properties["dfs:FilledPixels"] = str(pixels)
    if sidecar:
        properties["dfs:Sidecar"] = sidecar
    namespaces = {"Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/", "dfs": XMP_NAMESPACE}
    text = {"Description": description, "Software": SOFTWARE}
    if sidecar:
        text["Provenance"] = sidecar
    return EmbeddedNote(text=text, xmp=xmp_packet(description, properties, namespaces))


def sidecar_reference(image_path: str | os.PathLike[str]) -> str:
    """The sidecar record's path relative to the photo, as the embedded note names it."""
    return f"{sidecar_path(image_path).name}/{RECORD_NAME}"
