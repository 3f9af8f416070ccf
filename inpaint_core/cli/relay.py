"""`python main.py train relay start|run|status|stop|finish`: the CPU training relay (docs/TRAINING.md).

train relay start --deadline HH:MM|+MIN [--size 256] [--batch 8] [--set KEY=VALUE ...] [--gan]
train relay status            time to the deadline, samples/s, the last validation
train relay stop              SIGTERM: the run ends with its checkpoint and carry set
train relay finish [--count 30]   stop, judge against the committed carry set, keep if as good, log the row
                                  (--carry DIR: a GPU session's; its speed figures go to docs/BENCHMARKS.md)
train relay ship [--count 107]    bench the committed carry set; if it beats every fill without weights in
                                  every bin, write the shipped file and make it the manifest's default
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from inpaint_core.errors import InpaintError

RELAY_ACTIONS = ("start", "run", "status", "stop", "finish", "ship")
REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
DEFAULTS = {
    "relay_dir": REPO / "runs" / "relay",
    "warm": REPO / "resources" / "weights" / "candidate",
    "gan_warm": REPO / "resources" / "weights" / "candidate-gan",
    "card": REPO / "resources" / "weights" / "MODEL_CARD.md",
    "data": REPO / "train.pack",
    "masks": REPO / "masks.pack",
    "photos": SHARED / "train",
    "mask_folder": SHARED / "masks" / "nvidia_irregular",
    "eval_images": SHARED / "eval",
    "benchmarks": REPO / "docs" / "BENCHMARKS.md",
}
MASK_PACK_COUNT = 6000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "relay_action", nargs="?", choices=RELAY_ACTIONS, help="relay: start, status, stop, finish or ship"
    )
    parser.add_argument("--deadline", help="relay start: HH:MM (local), +MINUTES or Unix seconds")
    parser.add_argument("--relay-dir", help=f"relay folder (default {DEFAULTS['relay_dir']})")
    parser.add_argument(
        "--eval-images", help="relay finish and ship: held-out photos (default ../shared/data/eval)"
    )
    parser.add_argument(
        "--eval-masks",
        help="relay finish and ship: NVIDIA masks (default ../shared/data/masks/nvidia_irregular)",
    )
    parser.add_argument("--nice", type=int, default=19, help="relay start: niceness of the run (default 19)")
    parser.add_argument(
        "--gan",
        action="store_true",
        help="relay start: the GAN lane (a small SN-PatchGAN term; warm from candidate-gan once it exists)",
    )
    parser.add_argument(
        "--carry",
        help="relay finish: judge this carry set (e.g. a GPU call's files) instead of the relay's run",
    )


def _ensure_packs(data: Path, masks: Path) -> None:
    """Make the photo and mask packs from ../shared/data when they are missing (4 s and 30 s)."""
    from inpaint_core.hole_masks import list_training_masks
    from inpaint_core.train.data import list_photos
    from inpaint_core.train.pack import write_mask_pack, write_pack

    if not data.is_file():
        if not DEFAULTS["photos"].is_dir():
            raise InpaintError(f"no photo pack at {data} and no {DEFAULTS['photos']} to make one from")
        print(f"making {data} from {DEFAULTS['photos']}", flush=True)
        write_pack(list_photos([str(DEFAULTS["photos"])]), data, size=256, quality=92)
    if not masks.is_file() and DEFAULTS["mask_folder"].is_dir():
        import numpy as np

        files = list_training_masks(DEFAULTS["mask_folder"])  # never the benchmark quarter
        picks = np.linspace(0, len(files) - 1, min(MASK_PACK_COUNT, len(files))).round().astype(int)
        print(f"making {masks} from {DEFAULTS['mask_folder']}", flush=True)
        write_mask_pack([files[i] for i in sorted(set(picks.tolist()))], masks, size=256)


def run(args: argparse.Namespace) -> int:
    from inpaint_core.train import relay

    out = Path(args.relay_dir) if args.relay_dir else DEFAULTS["relay_dir"]
    action = args.relay_action
    if action is None:
        raise InpaintError(f"train relay needs an action: {', '.join(RELAY_ACTIONS)}")
    if action == "start":
        if not args.deadline:
            raise InpaintError("train relay start needs --deadline HH:MM or +MINUTES")
        data = Path(args.data) if args.data else DEFAULTS["data"]
        masks = DEFAULTS["masks"]
        _ensure_packs(data, masks)
        sets = list(args.set)
        warm = DEFAULTS["warm"]
        if args.gan:  # the lane's recipe first, so an explicit --set still wins
            from inpaint_core.train.warm import G_FILE

            sets = [f"{key}={json.dumps(value)}" for key, value in relay.RELAY_GAN.items()] + sets
            if (DEFAULTS["gan_warm"] / G_FILE).is_file():
                warm = DEFAULTS["gan_warm"]
        options = relay.RelayOptions(
            out=out,
            warm=Path(args.warm) if args.warm else warm,
            deadline=relay.parse_deadline(args.deadline),
            data=data,
            masks=masks if masks.is_file() else None,
            size=args.size or 256,
            batch=args.batch or 8,
            nice=args.nice,
            overrides=tuple(sets),
        )
        relay.relay_config(options, _overrides(sets))  # a bad --set fails here, not in the background
        pid = relay.start(options)
        until = time.strftime("%H:%M", time.localtime(options.deadline))
        print(f"relay started (pid {pid}, nice {options.nice}) until {until}; log: {out / relay.LOG_FILE}")
        return 0
    if action == "run":
        return relay.run_worker(out, lambda line: print(line, flush=True))
    if action == "status":
        print(relay.status(out).line())
        return 0
    if action == "stop":
        print("relay stopped" if relay.stop(out) else "no relay was running")
        return 0
    candidate = Path(args.warm) if args.warm else DEFAULTS["warm"]
    images = Path(args.eval_images) if args.eval_images else DEFAULTS["eval_images"]
    masks = Path(args.eval_masks) if args.eval_masks else DEFAULTS["mask_folder"]
    if action == "ship":
        from inpaint_core.manifest import MANIFEST
        from inpaint_core.train.ship import SHIP_COUNT, ship

        shipped = ship(
            candidate, MANIFEST, images, masks, args.count or SHIP_COUNT, lambda s: print(s, flush=True)
        )
        for line in shipped.lines():
            print(line)
        return 0
    from inpaint_core.train.relay_finish import finish

    report = finish(
        out,
        candidate=candidate,
        card=DEFAULTS["card"],
        images=images,
        masks=masks,
        count=args.count or 30,
        say=lambda line: print(line, flush=True),
        carry=Path(args.carry) if args.carry else None,
        data=Path(args.data) if args.data else DEFAULTS["data"],
    )
    for line in report.lines():
        print(line)
    if args.carry:
        _record_speed(Path(args.carry) / "summary.json")
    return 0


def _record_speed(summary_path: Path) -> None:
    """A GPU session's speed figures (`train session --speed`) become a row of docs/BENCHMARKS.md."""
    from inpaint_core.train.session_speed import append_row, benchmarks_row

    if not summary_path.is_file():
        return
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    if "speed" not in summary:
        print(f"no speed figures in {summary_path} (the session ran without --speed)")
        return
    row = benchmarks_row(summary)
    added = append_row(DEFAULTS["benchmarks"], row)
    print(f"{'added to' if added else 'already in'} {DEFAULTS['benchmarks']}: {row}")


def _overrides(items: list[str]) -> dict[str, object]:
    from inpaint_core.train.config import parse_overrides

    return parse_overrides(items)
