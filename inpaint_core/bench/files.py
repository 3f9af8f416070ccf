"""The files-and-paste benchmark: where the time of opening, saving and filling a large photo goes.

Every figure is the median wall time of `runs` repetitions, all taken in one process (the CLI row: one
subprocess per repetition) so that they compare under the same load. What is timed is the path users get:
`image_io.load_image` / `save_image` with their defaults, `InpaintEngine.run` with the default request, and
`python main.py inpaint` end to end. Nothing here reads the data folder: the photos are made in code.

Before/after: `compare_files` runs this module against another checkout (e.g. `git archive <commit>`
unpacked in a folder) and this one alternately, one repetition per subprocess, and reports both medians and
their ratio, so both sides see the same load on a shared machine. It uses only names that have long been
public (load_image, save_image, InpaintEngine.run and its stage timings, the CLI), so older checkouts run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import TypeVar

import cv2
import numpy as np

Log = Callable[[str], None]


@dataclass(frozen=True)
class FilesConfig:
    runs: int = 3
    photo: tuple[int, int] = (6000, 4000)  # (width, height): the 24 MP photo of load, save and the stroke
    holes_photo: tuple[int, int] = (4000, 3000)  # the photo with many small holes
    holes: int = 1000
    deepfill: bool = True  # also time the stroke with DeepFill (random-init weights: timing only)
    cli: bool = True  # also time `python main.py inpaint` end to end on the many-holes photo


@dataclass
class FilesReport:
    """figure name -> list of seconds (one per run), in the order measured; notes (sizes, stage split)."""

    times: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, seconds: float) -> None:
        self.times.setdefault(name, []).append(seconds)

    def medians(self) -> dict[str, float]:
        return {name: median(values) for name, values in self.times.items()}


def photo_like(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A camera-like test photo: smooth structure at several scales, edges, and sensor noise (sigma 2).

    PNG encoding time and size depend on the content; this compresses like a photo (about half its raw size
    as PNG), unlike a flat gradient.

    Shape: -> (height, width, 3) uint8
    """
    rng = np.random.default_rng(seed)
    out = np.zeros((height, width, 3), np.float32)
    for cells, weight in ((4, 0.5), (16, 0.25), (64, 0.15), (256, 0.10)):
        field_ = rng.random((max(2, cells * height // width), cells, 3), dtype=np.float32)
        out += weight * cv2.resize(field_, (width, height), interpolation=cv2.INTER_CUBIC)
    out = np.where(out > 0.55, out + 0.15, out)  # hard edges, as objects have
    out = out * 200.0 + rng.normal(0.0, 2.0, (height, width, 3)).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def stroke_mask(width: int, height: int, thickness: int = 60) -> np.ndarray:
    """A long brush stroke across the photo, corner to corner (one window covering the whole photo).

    Shape: -> (height, width) uint8, 255 = hole
    """
    points = np.array(
        [(0.05, 0.88), (0.25, 0.62), (0.5, 0.75), (0.75, 0.3), (0.95, 0.15)], np.float32
    ) * np.array([width, height], np.float32)
    mask = np.zeros((height, width), np.uint8)
    cv2.polylines(mask, [points.astype(np.int32)], False, 255, thickness)
    return mask


def small_holes_mask(width: int, height: int, count: int, seed: int = 0) -> np.ndarray:
    """`count` small round holes (radius 3-11 px) at seeded random places.

    Shape: -> (height, width) uint8, 255 = hole
    """
    rng = np.random.default_rng(seed)
    mask = np.zeros((height, width), np.uint8)
    for _ in range(count):
        x, y = int(rng.integers(20, width - 20)), int(rng.integers(20, height - 20))
        cv2.circle(mask, (x, y), int(rng.integers(3, 12)), 255, -1)
    return mask


T = TypeVar("T")


def _timed(report: FilesReport, name: str, fn: Callable[..., T], *args: object) -> T:
    t0 = time.perf_counter()
    value = fn(*args)
    report.add(name, time.perf_counter() - t0)
    return value


def _package_root() -> Path:
    """The checkout whose `inpaint_core` is imported (the CLI row runs its main.py)."""
    import inpaint_core

    return Path(inpaint_core.__file__).resolve().parent.parent


def run_files(config: FilesConfig, log: Log | None = None) -> FilesReport:
    """Time load, save, the engine's paste and the CLI; see the module docstring."""
    from inpaint_core.api import DEEPFILL, TELEA, InpaintRequest
    from inpaint_core.engine import InpaintEngine
    from inpaint_core.image_io import load_image, save_image

    say: Log = log or (lambda _msg: None)
    report = FilesReport()
    width, height = config.photo
    mp = f"{width}x{height}"
    photo = photo_like(width, height)
    stroke = stroke_mask(width, height)
    hw, hh = config.holes_photo
    holes_photo = photo_like(hw, hh, seed=1)
    holes = small_holes_mask(hw, hh, config.holes)
    many = f"{config.holes} holes in {hw}x{hh}"
    engine = InpaintEngine()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        weights = _random_weights(tmp) if config.deepfill else None
        requests = {
            f"stroke across {mp}, telea": InpaintRequest(image=photo, mask=stroke, engine=TELEA),
            f"{many}, telea": InpaintRequest(image=holes_photo, mask=holes, engine=TELEA),
        }
        if weights is not None:
            deepfill = InpaintRequest(image=photo, mask=stroke, engine=DEEPFILL, weights=weights)
            engine.run(deepfill)  # load the model once, outside the timing
            requests[f"stroke across {mp}, deepfill (random-init weights)"] = deepfill
        # The inputs of the load and CLI rows, written once (not timed) by a fixed encoder, so that every
        # checkout reads the same files.
        jpeg_in, png_in, holes_jpeg, holes_png = (tmp / n for n in ("in.jpg", "in.png", "h.jpg", "hm.png"))
        for path, pixels in ((jpeg_in, photo), (png_in, photo), (holes_jpeg, holes_photo)):
            cv2.imwrite(str(path), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
        cv2.imwrite(str(holes_png), holes)
        cli = [sys.executable, str(_package_root() / "main.py"), "inpaint", str(holes_jpeg)]
        cli += ["--mask", str(holes_png), "--engine", TELEA, "-o"]
        for run in range(config.runs):
            say(f"run {run + 1}/{config.runs}")
            _timed(report, f"load {mp} JPEG", load_image, jpeg_in)
            _timed(report, f"load {mp} PNG", load_image, png_in)
            out_png, out_jpeg = tmp / f"out{run}.png", tmp / f"out{run}.jpg"
            _timed(report, f"save {mp} PNG (default)", save_image, out_png, photo)
            _timed(report, f"save {mp} JPEG (default)", save_image, out_jpeg, photo)
            if run == 0:
                size = out_png.stat().st_size
                report.notes.append(f"PNG written: {size / 1e6:.1f} MB ({size / photo.nbytes:.0%} of raw)")
            out_png.unlink()
            out_jpeg.unlink()
            for name, request in requests.items():
                result = _timed(report, f"{name}: run", engine.run, request)
                report.add(f"{name}: paste stage", result.timings.get("paste", 0.0))
            if config.cli:
                out = tmp / f"cli{run}.png"
                _timed(report, f"CLI: {many}, JPEG -> PNG, telea", _run_quietly, [*cli, str(out)])
                out.unlink()
    return report


def _run_quietly(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def _random_weights(folder: Path) -> Path:
    """A random-init DeepFill generator (the shipped architecture) saved for the engine: timing only."""
    import torch

    from inpaint_core.model import DeepFillV2Generator, GeneratorConfig
    from inpaint_core.weights import save_generator

    torch.manual_seed(0)
    path = folder / "random_init.safetensors"
    save_generator(DeepFillV2Generator(GeneratorConfig()), path, dtype=torch.float32)
    return path


def format_report(report: FilesReport, config: FilesConfig) -> str:
    """The markdown table (median and spread of each figure) and the notes."""
    lines = [
        f"Files and paste: median of {config.runs} runs (wall time, s)\n",
        "| figure | median (s) | min (s) | max (s) |",
        "|---|---:|---:|---:|",
    ]
    for name, values in report.times.items():
        lines.append(f"| {name} | {median(values):.3f} | {min(values):.3f} | {max(values):.3f} |")
    lines += [f"\nnote: {note}" for note in report.notes]
    return "\n".join(lines)


# One repetition in a subprocess, run from a checkout's root (its `inpaint_core` is imported) and printing JSON.
_CHILD = """
import json, runpy, sys
ns = runpy.run_path(sys.argv[1])
report = ns["run_files"](ns["FilesConfig"](**json.loads(sys.argv[2])))
print(json.dumps({"times": report.times, "notes": report.notes}))
"""


def compare_files(
    config: FilesConfig, before: Path, log: Log | None = None
) -> tuple[FilesReport, FilesReport]:
    """(before, after) reports: `config.runs` repetitions of each, alternating, one subprocess per repetition.

    `before` is the root of another checkout (holding `inpaint_core/` and `main.py`); "after" is this one.
    """
    say: Log = log or (lambda _msg: None)
    if not (before / "inpaint_core").is_dir():
        from inpaint_core.errors import InpaintError

        raise InpaintError(f"{before}: not a checkout (no inpaint_core folder)")
    one = json.dumps({**config.__dict__, "runs": 1})
    reports = {"before": FilesReport(), "after": FilesReport()}
    for run in range(config.runs):
        for side, root in (("before", before.resolve()), ("after", _package_root())):
            say(f"run {run + 1}/{config.runs}: {side} ({root})")
            env = {**os.environ, "PYTHONPATH": str(root)}
            argv = [sys.executable, "-c", _CHILD, str(Path(__file__).resolve()), one]
            done = subprocess.run(argv, cwd=root, env=env, check=True, capture_output=True, text=True)
            child = json.loads(done.stdout.strip().splitlines()[-1])
            for name, values in child["times"].items():
                for value in values:
                    reports[side].add(name, value)
            if run == 0:
                reports[side].notes.extend(child["notes"])
    return reports["before"], reports["after"]


def format_comparison(before: FilesReport, after: FilesReport, config: FilesConfig, label: str) -> str:
    """The before/after table: medians and their ratio (before / after: above 1 = faster now)."""
    lines = [
        f"Files and paste, before ({label}) and after: medians of {config.runs} interleaved runs (wall, s)\n",
        "| figure | before (s) | after (s) | before / after |",
        "|---|---:|---:|---:|",
    ]
    b, a = before.medians(), after.medians()
    for name in a:
        if name in b:
            ratio = f"{b[name] / a[name]:.1f}x" if a[name] > 0 else "-"
            lines.append(f"| {name} | {b[name]:.3f} | {a[name]:.3f} | {ratio} |")
    lines += [f"\nnote (before): {note}" for note in before.notes]
    lines += [f"note (after): {note}" for note in after.notes]
    return "\n".join(lines)
