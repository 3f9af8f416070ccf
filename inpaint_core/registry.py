"""The names and limits every front end shares, each written once: engines, devices, precisions, progress stages,
the model's input multiple and the numeric settings' defaults and bounds.

Torch-free and dependency-free (only the standard library), so the CLI builds its parser, the editor its menus and
the PyInstaller spec its hidden imports without loading the ML stack. `api` re-exports all of it; the rest of
the core imports it from here. A test (tests/core/test_registry.py) checks the copies that cannot import it (the
CLI's choices, the editor's lists, provenance) read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

# The generator's three stride-2 downsamplings (2^3) need H and W divisible by 8: the engine pads each window to
# it, the bench sizes and the training crops are multiples of it.
MODEL_MULTIPLE = 8

# Engine names. DeepFill is the network; auto picks Navier-Stokes or PatchMatch per hole (fillers.AutoFiller);
# PatchMatch copies texture from the photo (patchmatch.py); Telea and NS are OpenCV's cv2.inpaint (classical.py).
DEEPFILL = "deepfill"
AUTO = "auto"
PATCHMATCH = "patchmatch"
ClassicalMethod = Literal["telea", "ns"]
TELEA, NS = get_args(ClassicalMethod)
CLASSICAL_ENGINES: tuple[str, ...] = get_args(ClassicalMethod)

# Auto: a hole whose every pixel lies within this many pixels of a known one (a scratch, a wire, dust: strokes up
# to about 8 px wide) goes to Navier-Stokes, a wider one to PatchMatch. On the bench NS wins hole PSNR on 3-6 px
# strokes (by 0.7 dB), PatchMatch from 9 px on (docs/BENCHMARKS.md, "PatchMatch and auto").
AUTO_THIN_PX = 4.5


@dataclass(frozen=True)
class EngineInfo:
    """What a front end needs to know about an engine without running it."""

    name: str  # the request's `engine`, the CLI's --engine value, the settings' stored value
    label: str  # the menu, the status line, the provenance record and note
    short: str  # in running text and tables ("DeepFill beats Telea by ...")
    note: str  # one line: what it is and what it costs (the picker's tooltip, `--help`)
    needs_weights: bool  # a weights file (DeepFill); the others run with none
    input_multiple: int  # the window sides it accepts are multiples of this (1: any size, full resolution)
    reads_guide: bool  # uses the guide strokes (DeepFill weights with a guide channel)
    reads_forbid: bool  # honours the do-not-borrow area
    source_map: bool  # its result says where each filled pixel came from (`InpaintResult.attention`)
    trained: bool  # a trained model made the pixels (IPTC digital source type in provenance)


def _unused(info: bool, what: str) -> str:
    return "" if info else what


ENGINE_INFO: dict[str, EngineInfo] = {
    e.name: e
    for e in (
        EngineInfo(
            DEEPFILL,
            "DeepFill v2",
            "DeepFill",
            "The network (gated convolutions, contextual attention): plausible structure in wide holes; needs "
            "weights; a second or more per hole on the CPU.",
            needs_weights=True,
            input_multiple=MODEL_MULTIPLE,
            reads_guide=True,
            reads_forbid=True,
            source_map=True,
            trained=True,
        ),
        EngineInfo(
            AUTO,
            "Auto (PatchMatch or Navier-Stokes)",
            "Auto",
            f"Per hole: thin ones (scratches, wires, dust; up to about {2 * AUTO_THIN_PX:.0f} px wide) get "
            "Navier-Stokes, wide ones PatchMatch. No network. Guide strokes are not used.",
            needs_weights=False,
            input_multiple=1,
            reads_guide=False,
            reads_forbid=True,
            source_map=True,
            trained=False,
        ),
        EngineInfo(
            PATCHMATCH,
            "PatchMatch (texture copy)",
            "PatchMatch",
            "Copies texture from elsewhere in the photo (PatchMatch, Barnes et al. 2009; the pypatchmatch "
            "library): rebuilds brick, sand, foliage where the classical fills smear. No network; seconds on a "
            "large hole. Click a filled pixel to see where it was copied from. The do-not-borrow area is never "
            "copied from; guide strokes are not used.",
            needs_weights=False,
            input_multiple=1,
            reads_guide=False,
            reads_forbid=True,
            source_map=True,
            trained=False,
        ),
        EngineInfo(
            TELEA,
            "Telea (OpenCV, classical)",
            "Telea",
            "OpenCV's fast-marching fill (Telea 2004): no network, instant; smooth but blurry on large holes. "
            "Guide strokes and the do-not-borrow area are not used.",
            needs_weights=False,
            input_multiple=1,
            reads_guide=False,
            reads_forbid=False,
            source_map=False,
            trained=False,
        ),
        EngineInfo(
            NS,
            "Navier-Stokes (OpenCV, classical)",
            "Navier-Stokes",
            "OpenCV's Navier-Stokes fill (Bertalmio et al. 2001): no network, instant; smooth but blurry on "
            "large holes. Guide strokes and the do-not-borrow area are not used.",
            needs_weights=False,
            input_multiple=1,
            reads_guide=False,
            reads_forbid=False,
            source_map=False,
            trained=False,
        ),
    )
}
ENGINES: tuple[str, ...] = tuple(ENGINE_INFO)
ENGINE_LABELS: dict[str, str] = {name: e.label for name, e in ENGINE_INFO.items()}
SOURCE_MAP_ENGINES: tuple[str, ...] = tuple(name for name, e in ENGINE_INFO.items() if e.source_map)


def engine_label(name: str) -> str:
    """The engine's label; an unknown name (a record from another version) as it is."""
    info = ENGINE_INFO.get(name)
    return info.label if info is not None else name


# Devices and precisions a request may name. "auto": CUDA, then MPS, then the CPU (devices.resolve_device); a
# precision's "auto" is precision.resolve_precision. "cuda:N" is accepted too but never listed.
DeviceName = Literal["auto", "cpu", "cuda", "mps"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]
DEVICES: tuple[str, ...] = get_args(DeviceName)
PRECISIONS: tuple[str, ...] = get_args(Precision)
DEVICE_LABELS: dict[str, str] = {"auto": "Auto", "cpu": "CPU", "cuda": "CUDA (GPU)", "mps": "MPS (Apple GPU)"}

# The progress stages, in order; per window "coarse", "refine" (classical engines: "refine" only) and "paste".
STAGES: tuple[str, ...] = ("load", "prepare", "coarse", "refine", "paste")

# InpaintRequest.tone: "auto" detects a grey or toned photo and keeps its tone in the fill; "off" does not.
TONE_MODES: tuple[str, ...] = ("auto", "off")


@dataclass(frozen=True)
class IntSetting:
    """A number setting: its default and the bounds every front end accepts (the editor's spin box and stored
    value, the CLI's option)."""

    default: int
    lo: int
    hi: int

    def clamp(self, value: int) -> int:
        return min(self.hi, max(self.lo, value))


# The longest side the model sees. The default is what the shipped weights were judged at (docs/BENCHMARKS.md);
# the least: below it the model's 8x downsampling leaves too little context. The most is 4096 in every front end
# (the CLI took 16384, the editor 4096): contextual attention matches every target cell against every source cell
# (bounded in memory by its row bands, not in time), so its work grows with the fourth power of the side; a 4096
# window already costs (4096/512)^4 = 4096 times a 512 one there, and 16384 would be a million times.
MAX_SIDE = IntSetting(default=512, lo=64, hi=4096)
MIN_MAX_SIDE = MAX_SIDE.lo
# Edge blend in image pixels (InpaintRequest.edge_blend): 0 = none (docs/BENCHMARKS.md, "Paste").
EDGE_BLEND = IntSetting(default=0, lo=0, hi=64)
MAX_EDGE_BLEND = EDGE_BLEND.hi
# PatchMatch compares patches of (2 * radius + 1)^2 pixels: 3 is the library's examples' choice and the
# issue's measurements; larger follows larger structures but costs about the square.
PATCH_RADIUS_SETTING = IntSetting(default=3, lo=1, hi=10)
PATCH_RADIUS = PATCH_RADIUS_SETTING.default
MAX_PATCH_RADIUS = PATCH_RADIUS_SETTING.hi
# JPEG and WebP quality for saved fills, the CLI's and the editor's (which had 92). 95: a restored photo is
# re-saved, often more than once, and each save at 92 visibly softens fine grain and film texture around the
# fills; Pillow's documentation advises against going above 95 (bigger files, no visible gain).
JPEG_QUALITY = IntSetting(default=95, lo=1, hi=100)
