"""The CPU training relay (docs/TRAINING.md, "The relay"): a low-priority background run with a wall-clock
deadline that continues the committed carry set and hands its own to the next session.

    start   spawns `train relay run` under `nice`, logging to <out>/relay.log, and returns at once
    run     the worker: trains from the carry set until the deadline or SIGTERM, then validates, checkpoints
            and writes the run's carry set (the loop's normal end)
    status  time to the deadline, samples/s, the last validation
    stop    SIGTERM, then wait for the worker's clean end

Finishing (judging the new carry set against the committed one) lives in relay_finish.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from inpaint_core.errors import InpaintError
from inpaint_core.train.config import TrainConfig, parse_overrides, write_text_atomic
from inpaint_core.train.metrics_log import METRICS_JSONL
from inpaint_core.train.presets import preset_config

STATE_FILE = "relay.json"  # what `start` launched: pid, deadline, options
LOG_FILE = "relay.log"
RUN_SUBDIR = "run"  # the worker's run folder (checkpoints, carry/, metrics, samples)

# The CPU recipe on top of the phase-1 preset (docs/TRAINING.md says why): the width-reduced model, eager
# bf16 autocast, a constant lr (a relay is many short runs of unknown length: each warm start ramps Adam up
# over `rewarm_steps`, and the EMA does the averaging a decay would), validation only at the timed checkpoints.
RELAY_RECIPE: dict[str, Any] = {
    "cnum": 24,
    "compile": False,  # a cold inductor compile of the CPU step took 28 min and ran slower than eager
    "fused_gating": True,  # the gates compiled alone (seconds) instead: docs/BENCHMARKS.md, "Training step"
    "channels_last_cpu": True,
    "lr_schedule": "constant",
    # at 256 px: flat at 17.49-17.51 dB (val) over 72-75k samples at 1.5e-4, then +0.06 dB in 4k at 5e-5
    # (2026-12-06); flat again at 17.96-17.98 over 155-168k at 5e-5, then +0.03 within 5k at 2.5e-5 (2026-12-07)
    "lr": 2.5e-5,
    "warmup_samples": 0,
    "schedule_samples": 0,
    "rewarm_steps": 50,
    "val_count": 32,
    "val_at_start": False,  # `finish` evaluates the starting point against the result
    "val_every": 10_000_000,
    "ckpt_every_s": 600.0,
    "log_every": 10,
    "mask_dir_ratio": 0.5,
}

# The GAN lane (issue #19 part 3, `train relay start --gan`): phase 2's SN-PatchGAN hinge term, small, over the
# relay recipe, with phase 2's Adam betas; the discriminator at d_cnum 32 (the published 64 is for cnum 48: halved
# with the lite generator). Its runs are judged and kept apart from the L1 chain (relay_finish.py).
RELAY_GAN: dict[str, Any] = {
    "gan_alpha": 0.05,
    "d_cnum": 32,
    "beta1": 0.5,
    "beta2": 0.999,
    "lr": 5e-5,  # G and D share the lr: a fresh discriminator needs the faster of the two rates the L1 chain used
}


@dataclass(frozen=True)
class RelayOptions:
    out: Path  # the relay folder: relay.json, relay.log, run/
    warm: Path  # the carry set to continue (resources/weights/candidate)
    deadline: float  # Unix time: the run has ended (carry set written) before this
    data: Path  # the photo pack (train pack)
    masks: Path | None  # a mask pack of training masks, or None for generated masks only
    size: int = 256
    batch: int = 8
    nice: int = 19
    overrides: tuple[str, ...] = ()  # extra KEY=VALUE config overrides, as `train --set`

    def to_json(self) -> str:
        d = asdict(self)
        return json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in d.items()}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> RelayOptions:
        d = json.loads(text)
        return cls(
            out=Path(d["out"]),
            warm=Path(d["warm"]),
            deadline=float(d["deadline"]),
            data=Path(d["data"]),
            masks=Path(d["masks"]) if d.get("masks") not in (None, "None") else None,
            size=int(d["size"]),
            batch=int(d["batch"]),
            nice=int(d["nice"]),
            overrides=tuple(d.get("overrides", ())),
        )


def relay_config(options: RelayOptions, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Phase 1 + RELAY_RECIPE + the options' data, size and batch (+ explicit overrides, last). bf16 autocast
    only where the CPU has native bf16: elsewhere it is emulated, far slower than fp32."""
    from inpaint_core.devices import cpu_has_native_bf16

    values: dict[str, Any] = {
        **RELAY_RECIPE,
        "amp_on_cpu": cpu_has_native_bf16(),
        "data": (str(options.data),),
        "size": options.size,
        "batch": options.batch,
        "mask_dir": str(options.masks) if options.masks is not None else None,
        **(overrides or {}),
    }
    if values["mask_dir"] is None:
        values["mask_dir_ratio"] = 0.0
    return preset_config("phase1").replace(**values)


def parse_deadline(text: str, now: float | None = None) -> float:
    """A deadline as Unix time from 'HH:MM' (today, local time; tomorrow if already past), '+MINUTES'
    ('+150'), or Unix seconds."""
    now = time.time() if now is None else now
    text = text.strip()
    try:
        if text.startswith("+"):
            return now + float(text[1:]) * 60.0
        if ":" in text:
            hours, minutes = (int(part) for part in text.split(":", 1))
            if not (0 <= hours < 24 and 0 <= minutes < 60):
                raise ValueError
            local = time.localtime(now)
            at = time.mktime((*local[:3], hours, minutes, 0, 0, 0, -1))
            return at if at > now else at + 86400.0
        return float(text)
    except ValueError:
        raise InpaintError(f"deadline {text!r} is not a time: use HH:MM, +MINUTES or Unix seconds") from None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child (started from this very process and not yet reaped) counts as ended
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def read_state(out: Path) -> tuple[RelayOptions, int] | None:
    """(options, pid) of the last `start` in `out`, or None if it was never started there."""
    path = out / STATE_FILE
    if not path.is_file():
        return None
    d = json.loads(path.read_text(encoding="utf-8"))
    return RelayOptions.from_json(json.dumps(d["options"])), int(d["pid"])


def running_pid(out: Path) -> int | None:
    state = read_state(out)
    return state[1] if state is not None and _alive(state[1]) else None


def start(options: RelayOptions, python: str = sys.executable) -> int:
    """Launch the worker in the background at low priority; returns its PID. Refuses a second live relay."""
    if options.deadline <= time.time() + 60:
        raise InpaintError("the relay's deadline is less than a minute away: nothing to train")
    if not options.warm.is_dir():
        raise InpaintError(f"no carry set at {options.warm}")
    if not options.data.is_file():
        raise InpaintError(f"no photo pack at {options.data}: make one with `train pack`")
    pid = running_pid(options.out)
    if pid is not None:
        raise InpaintError(
            f"a relay is already running in {options.out} (pid {pid}); `train relay stop` first"
        )
    options.out.mkdir(parents=True, exist_ok=True)
    main_py = Path(__file__).resolve().parents[2] / "main.py"
    argv = [python, str(main_py), "train", "relay", "run", "--relay-dir", str(options.out)]
    # write the options first: the worker reads them from the state file
    write_text_atomic(
        options.out / STATE_FILE, json.dumps({"pid": 0, "options": json.loads(options.to_json())})
    )
    log = (options.out / LOG_FILE).open("ab")
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the caller's Ctrl+C or exit does not reach it; `stop` sends SIGTERM
        preexec_fn=lambda: os.nice(options.nice),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log.close()
    state = {"pid": proc.pid, "started": time.time(), "options": json.loads(options.to_json())}
    write_text_atomic(options.out / STATE_FILE, json.dumps(state, indent=2))
    return proc.pid


def stop(out: Path, timeout_s: float = 600.0, poll_s: float = 1.0) -> bool:
    """SIGTERM the worker and wait for its clean end (validation, checkpoint, carry set).

    Returns True if a worker was running. A worker still alive after `timeout_s` is an error: its carry set
    may be half-written, so nothing should judge it.
    """
    pid = running_pid(out)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + timeout_s
    while _alive(pid):
        if time.monotonic() > end:
            raise InpaintError(f"the relay (pid {pid}) did not stop within {timeout_s:.0f} s after SIGTERM")
        time.sleep(poll_s)
    return True


@dataclass(frozen=True)
class RelayStatus:
    running: bool
    pid: int | None
    seconds_left: float
    step: int
    samples: int
    samples_per_s: float
    val_psnr: float | None

    def line(self) -> str:
        state = f"running (pid {self.pid})" if self.running else "not running"
        left = max(0.0, self.seconds_left)
        val = f"{self.val_psnr:.2f} dB" if self.val_psnr is not None else "none yet"
        return (
            f"relay {state}: {hours_minutes(left)} h to the deadline, step {self.step}, "
            f"{self.samples:,} samples, {self.samples_per_s:.2f} samples/s, last val hole PSNR {val}"
        )


def read_rows(path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line being written right now
                continue
    return rows


def status(out: Path) -> RelayStatus:
    state = read_state(out)
    if state is None:
        raise InpaintError(f"no relay was started in {out}")
    options, pid = state
    rows = read_rows(out / RUN_SUBDIR / METRICS_JSONL)
    speed = [r for r in rows if "samples_per_s" in r]
    vals = [r for r in rows if "val_psnr" in r]
    last = rows[-1] if rows else {}
    return RelayStatus(
        running=_alive(pid),
        pid=pid,
        seconds_left=options.deadline - time.time(),
        step=int(last.get("step", 0)),
        samples=int(last.get("samples", 0)),
        samples_per_s=_median([r["samples_per_s"] for r in speed[-30:]]),
        val_psnr=vals[-1]["val_psnr"] if vals else None,
    )


def hours_minutes(seconds: float) -> str:
    """'1:05' for 3,900 s: whole hours (floored, not rounded) and minutes."""
    minutes = int(max(0.0, seconds) // 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _median(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


class StopFlag:
    """Set by SIGTERM / SIGINT; the training loop asks it after every step and ends the run cleanly."""

    def __init__(self) -> None:
        self.set = False
        self.signal: int | None = None

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame: Any) -> None:
        self.set, self.signal = True, signum

    def __call__(self) -> bool:
        return self.set


class ProgressLine:
    """A log line at most every `every_s` seconds: the real horizon (time to the deadline), not a step count."""

    def __init__(self, deadline: float, say: Callable[[str], None], every_s: float = 60.0) -> None:
        self.deadline, self.say, self.every_s = deadline, say, every_s
        self.last = 0.0
        self.val: float | None = None

    def __call__(self, step: int, row: dict[str, float]) -> None:
        if "val_psnr" in row:
            self.val = row["val_psnr"]
        now = time.time()
        if now - self.last < self.every_s:
            return
        self.last = now
        left = max(0.0, self.deadline - now)
        rate = row.get("samples_per_s")
        val = f"{self.val:.2f} dB" if self.val is not None else "-"
        samples = f"{int(row['samples']):,}" if "samples" in row else "-"  # none logged yet: not 0
        self.say(
            f"{time.strftime('%H:%M:%S')}  {hours_minutes(left)} h left  step {step}  "
            f"samples {samples}  "
            f"{'-' if rate is None else f'{rate:.2f}'} samples/s  val {val}"
        )


def lower_session_priority(niceness: int) -> bool:
    """Give this process's scheduling group the niceness too (Linux autogroups; best effort).

    With autogroups on (the default on desktop and server kernels), `nice` orders processes only within one
    session; a process in its own session, as the relay is, gets an equal share with every other session
    whatever its nice value. Measured here: a 1024² matmul beside the nice-19 relay ran at 28 GFLOP/s, and at
    39 once the relay's autogroup was niced too (45 with the relay stopped).
    """
    try:
        Path("/proc/self/autogroup").write_text(f"{niceness}\n", encoding="ascii")
    except OSError:  # no autogroups (other OS, kernel option off): plain nice is all there is
        return False
    return True


def run_worker(out: Path, say: Callable[[str], None]) -> int:
    """The background worker: train from the carry set until the deadline or a SIGTERM. Returns an exit code."""
    from inpaint_core.train.loop import train

    state = read_state(out)
    if state is None:
        raise InpaintError(f"no relay state in {out}: use `train relay start`")
    options, _ = state
    grouped = lower_session_priority(options.nice)
    flag = StopFlag()
    flag.install()
    torch_threads = os.environ.get("RELAY_THREADS")
    if torch_threads:
        import torch

        torch.set_num_threads(int(torch_threads))
    config = relay_config(options, parse_overrides(list(options.overrides)))
    run_dir = out / RUN_SUBDIR
    if run_dir.exists() and any(run_dir.iterdir()):
        raise InpaintError(f"{run_dir} holds an earlier relay run: finish it (`train relay finish`) first")
    say(
        f"relay: warm from {options.warm}, {config.size}px batch {config.batch}, deadline "
        f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(options.deadline))}, nice {os.nice(0)}"
        + (" (its session's autogroup too)" if grouped else "")
    )
    deadline_mono = time.monotonic() + (options.deadline - time.time())
    result = train(
        config,
        run_dir,
        device="cpu",
        progress=ProgressLine(options.deadline, say),
        deadline=deadline_mono,
        warm=options.warm,
        margin_s=30.0,
        should_stop=flag,
    )
    why = "a stop signal" if flag.set else ("the deadline" if result.stopped_early else "the step limit")
    say(
        f"relay: ended by {why} at step {result.step} ({result.samples:,} samples, "
        f"{result.samples_per_s:.2f} samples/s); carry set in {run_dir / 'carry'}"
    )
    return 0
