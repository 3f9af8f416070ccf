"""The CPU training relay: a background run that stops cleanly on SIGTERM or its deadline, hands on its carry
set, and a finish step that keeps a new carry set only when it is at least as good (docs/TRAINING.md)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from inpaint_core.errors import InpaintError
from inpaint_core.train import relay
from inpaint_core.train.relay_finish import (
    CURVE_HEADING,
    GAN_LANE,
    Evaluation,
    append_curve_row,
    at_least_as_good,
    carry_gan_alpha,
    carry_samples,
    finish,
    sharper_and_close,
)
from inpaint_core.train.warm import D_FILE, EMA_FILE, G_FILE
from inpaint_core.weights import sha256_file
from tests.helpers.photos import write_bench_folders
from tests.train.tiny_pack import TINY_RECIPE, make_carry, make_pack

TINY_SETS = tuple(f"{k}={json.dumps(v)}" for k, v in TINY_RECIPE.items() if k != "size")


def test_deadline_forms() -> None:
    now = time.mktime((2026, 12, 6, 16, 0, 0, 0, 0, -1))
    assert relay.parse_deadline("+90", now) == now + 5400
    assert relay.parse_deadline("18:30", now) == now + 2.5 * 3600
    assert relay.parse_deadline("15:00", now) == now + 23 * 3600  # past today: tomorrow
    assert relay.parse_deadline(str(now + 7), now) == now + 7
    for bad in ("soon", "25:00", "+x", "12:61"):
        with pytest.raises(InpaintError, match="deadline"):
            relay.parse_deadline(bad, now)


def test_horizon_is_floored_hours_and_minutes() -> None:
    assert [relay.hours_minutes(s) for s in (0, 59, 3599, 6300, 9000, -5)] == [
        "0:00",
        "0:00",
        "0:59",
        "1:45",
        "2:30",
        "0:00",
    ]


def test_progress_line_shows_the_horizon_and_no_made_up_counts() -> None:
    lines: list[str] = []
    line = relay.ProgressLine(time.time() + 5430, lines.append, every_s=0.0)
    line(8774, {})  # the first call comes before any row is logged: no samples to show yet
    line(8804, {"samples": 102640, "samples_per_s": 3.894, "val_psnr": 17.8234})
    assert "1:30 h left  step 8774  samples -  - samples/s  val -" in lines[0]
    assert "step 8804  samples 102,640  3.89 samples/s  val 17.82 dB" in lines[1]


def _options(tmp_path: Path, warm: Path, minutes: float) -> relay.RelayOptions:
    pack = tmp_path / "tiny.pack"
    return relay.RelayOptions(
        out=tmp_path / "relay",
        warm=warm,
        deadline=time.time() + minutes * 60,
        data=pack if pack.is_file() else make_pack(tmp_path),
        masks=None,
        size=64,
        batch=4,
        overrides=(*TINY_SETS, "ckpt_every_s=2", "log_every=1"),
    )


def test_relay_config_keeps_the_recipe_and_takes_overrides(tmp_path: Path) -> None:
    options = relay.RelayOptions(tmp_path, tmp_path, time.time() + 600, tmp_path / "p.pack", None, 128, 16)
    config = relay.relay_config(options, {"lr": 3e-4})
    assert (config.size, config.batch, config.cnum, config.lr) == (128, 16, 24, 3e-4)
    assert config.gan_alpha == 0 and config.l1_mode == "hole" and not config.compile
    assert config.mask_dir is None and config.mask_dir_ratio == 0.0  # no mask pack: generated masks only


@pytest.fixture
def reaped() -> Iterator[Callable[[Path], None]]:
    """Register a relay folder; a relay still running there when the test ends (a failed assert) is killed, so a
    failing test does not leave a training process behind."""
    folders: list[Path] = []
    yield folders.append
    for folder in folders:
        pid = relay.running_pid(folder)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_started_relay_trains_in_the_background_and_stops_cleanly_on_sigterm(
    tmp_path: Path, reaped: Callable[[Path], None]
) -> None:
    warm = make_carry(tmp_path / "warm", samples=400)
    options = _options(tmp_path, warm, minutes=30)
    pid = relay.start(options)
    reaped(options.out)
    with pytest.raises(InpaintError, match="already running"):
        relay.start(options)
    metrics = options.out / relay.RUN_SUBDIR / "metrics.jsonl"
    end = time.monotonic() + 120
    while not (metrics.is_file() and len(relay.read_rows(metrics)) >= 3):
        assert relay.running_pid(options.out) == pid, (options.out / relay.LOG_FILE).read_text()
        assert time.monotonic() < end, "the relay logged no steps in 2 minutes"
        time.sleep(0.5)
    now = relay.status(options.out)
    assert now.running and now.samples > 400 and 1700 < now.seconds_left <= 1800
    assert "to the deadline" in now.line()

    assert relay.stop(options.out, timeout_s=120)
    assert relay.running_pid(options.out) is None
    carry = options.out / relay.RUN_SUBDIR / "carry"
    assert carry_samples(carry / EMA_FILE) > 400 and (carry / G_FILE).is_file()
    log = (options.out / relay.LOG_FILE).read_text()
    assert "nice 19" in log
    if Path("/proc/self/autogroup").is_file():  # Linux with autogroups: the session's group is niced too
        assert "autogroup too" in log
    assert "ended by a stop signal" in log and "h left" in log  # the horizon, not a step count
    assert relay.stop(options.out) is False  # nothing left to stop


@pytest.mark.slow
def test_relay_ends_by_itself_before_its_deadline(tmp_path: Path, reaped: Callable[[Path], None]) -> None:
    warm = make_carry(tmp_path / "warm", samples=0)
    options = _options(tmp_path, warm, minutes=1.2)
    relay.start(options)
    reaped(options.out)
    end = time.monotonic() + 150
    while relay.running_pid(options.out) is not None:
        assert time.monotonic() < end, "the relay did not stop by itself"
        time.sleep(1)
    assert time.time() < options.deadline + 5  # ended (carry set written) before the deadline, with slack
    assert "ended by the deadline" in (options.out / relay.LOG_FILE).read_text()
    assert carry_samples(options.out / relay.RUN_SUBDIR / "carry" / EMA_FILE) > 0


def test_judgement_is_the_bench_mean() -> None:
    old = Evaluation(Path("a"), 10, 17.0, {1: 20.0, 3: 18.0, 5: 16.0})
    assert at_least_as_good(old, Evaluation(Path("b"), 20, 16.0, {1: 19.9, 3: 18.2, 5: 16.0}))
    assert not at_least_as_good(old, Evaluation(Path("b"), 20, 18.0, {1: 19.9, 3: 18.0, 5: 16.0}))


def test_the_gan_lane_trades_at_most_two_tenths_of_a_db_for_sharpness() -> None:
    l1 = Evaluation(Path("a"), 10, 17.0, {1: 20.0, 3: 18.0, 5: 16.0}, {1: 0.25, 3: 0.15, 5: 0.10})

    def gan(psnr_drop: float, sharpness: float) -> Evaluation:
        bins = {b: v - psnr_drop for b, v in l1.bins.items()}
        return Evaluation(Path("b"), 20, 16.0, bins, dict.fromkeys(l1.sharpness, sharpness))

    assert sharper_and_close(l1, gan(0.19, 0.30))
    assert not sharper_and_close(l1, gan(0.21, 0.30))  # too much of the bench given away
    assert not sharper_and_close(l1, gan(0.0, 0.16))  # no sharper on the mean over the bins (0.1667)


def test_curve_rows_append_under_one_heading(tmp_path: Path) -> None:
    card = tmp_path / "MODEL_CARD.md"
    card.write_text("# Card\n\ntext\n")
    append_curve_row(card, "| row 1 |\n")
    append_curve_row(card, "| row 2 |\n")
    text = card.read_text()
    assert text.count(CURVE_HEADING) == 1 and text.index("| row 1 |") < text.index("| row 2 |")
    assert text.startswith("# Card\n\ntext\n")


def test_curve_row_goes_under_the_table_when_notes_follow_it(tmp_path: Path) -> None:
    card = tmp_path / "MODEL_CARD.md"
    append_curve_row(card, "| row 1 |\n")
    card.write_text(card.read_text() + "\nA note on the run.\n\n## Next section\n| other table |\n")
    append_curve_row(card, "| row 2 |\n")
    lines = card.read_text().splitlines()
    assert lines[lines.index("| row 1 |") + 1] == "| row 2 |"
    assert lines[-1] == "| other table |"


def _committed_and_bench(tmp_path: Path) -> tuple[Path, bytes, Path, Path, Path]:
    """A committed tiny carry set (100 samples), its EMA file's bytes, bench folders, and a model card path."""
    committed = make_carry(tmp_path / "candidate", samples=100)
    images, masks = write_bench_folders(tmp_path / "eval")
    return committed, (committed / EMA_FILE).read_bytes(), images, masks, tmp_path / "MODEL_CARD.md"


@pytest.mark.slow
def test_finish_keeps_only_a_carry_set_at_least_as_good(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inpaint_core.train import relay_finish

    committed, before, images, masks, card = _committed_and_bench(tmp_path)

    def finished_run(samples: int) -> relay.RelayOptions:
        options = _options(tmp_path, committed, minutes=30)
        (options.out / relay.RUN_SUBDIR).mkdir(parents=True, exist_ok=True)
        relay.write_text_atomic(
            options.out / relay.STATE_FILE,
            json.dumps({"pid": 2**22 + 1, "options": json.loads(options.to_json())}),
        )
        make_carry(options.out / relay.RUN_SUBDIR / "carry", samples=samples)
        return options

    # 1. the bench says worse: the committed carry set stays, the row says "no"
    monkeypatch.setattr(relay_finish, "at_least_as_good", lambda old, new: False)
    options = finished_run(samples=500)
    report = finish(options.out, committed, card, images, masks, count=2, say=lambda _: None, bench_size=32)
    assert not report.kept and (committed / EMA_FILE).read_bytes() == before
    assert set(report.classical) == {"ns", "telea"} and set(report.new.bins) == {1, 3, 5}
    assert card.read_text().rstrip().endswith("| no |")
    assert not (options.out / relay.RUN_SUBDIR).exists()  # archived: the next start gets a fresh folder

    # 2. as good: it replaces the committed files
    monkeypatch.setattr(relay_finish, "at_least_as_good", lambda old, new: True)
    options = finished_run(samples=900)
    report = finish(options.out, committed, card, images, masks, count=2, say=lambda _: None, bench_size=32)
    assert report.kept and carry_samples(committed / EMA_FILE) == 900
    sums = (committed / "SHA256SUMS").read_text()  # rewritten with the files: loading checks them
    assert f"{sha256_file(committed / EMA_FILE)}  {EMA_FILE}" in sums
    assert card.read_text().rstrip().endswith("| yes |") and "| 900 |" in card.read_text()


@pytest.mark.slow
def test_a_gan_run_is_judged_by_its_own_rule_and_kept_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inpaint_core.train import relay_finish

    committed, before, images, masks, card = _committed_and_bench(tmp_path)
    lane, pack = tmp_path / GAN_LANE, make_pack(tmp_path)

    def judge(samples: int) -> relay_finish.FinishReport:
        carry = make_carry(tmp_path / f"gan{samples}", samples=samples, gan_alpha=0.05)
        assert carry_gan_alpha(carry / EMA_FILE) == 0.05 and (carry / D_FILE).is_file()
        return finish(
            tmp_path / "none", committed, card, images, masks, count=2, say=lambda _: None,
            bench_size=32, carry=carry, data=pack,
        )  # fmt: skip

    # the L1 rule would keep it; the GAN rule decides, and says no
    monkeypatch.setattr(relay_finish, "at_least_as_good", lambda old, new: True)
    monkeypatch.setattr(relay_finish, "sharper_and_close", lambda l1, gan: False)
    assert not judge(500).kept and not lane.exists()
    assert card.read_text().rstrip().endswith("| no (GAN lane, alpha 0.05) |")

    monkeypatch.setattr(relay_finish, "sharper_and_close", lambda l1, gan: True)
    report = judge(900)
    assert report.kept and report.kept_in == lane and carry_samples(lane / EMA_FILE) == 900
    assert (lane / D_FILE).is_file() and f"{sha256_file(lane / D_FILE)}  {D_FILE}" in (
        lane / "SHA256SUMS"
    ).read_text()
    assert (committed / EMA_FILE).read_bytes() == before and not (
        committed / D_FILE
    ).exists()  # L1 chain untouched
    assert card.read_text().rstrip().endswith("| yes (GAN lane, alpha 0.05) |")
    assert not judge(700).kept  # fewer samples than the lane already holds


def test_relay_start_gan_sets_the_lane_recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inpaint_core.cli import main as cli_main
    from inpaint_core.cli import relay as relay_cli

    started: list[relay.RelayOptions] = []
    monkeypatch.setattr(relay, "start", lambda options: started.append(options) or 4242)
    for key, name in (("warm", "candidate"), ("gan_warm", GAN_LANE), ("masks", "none.pack")):
        monkeypatch.setitem(relay_cli.DEFAULTS, key, tmp_path / name)
    argv = ["train", "relay", "start", "--deadline", "+60", "--data", str(make_pack(tmp_path))]
    argv += ["--relay-dir", str(tmp_path / "relay")]
    assert cli_main([*argv, "--gan", "--set", "gan_alpha=0.1"]) == 0
    config = relay.relay_config(started[-1], relay.parse_overrides(list(started[-1].overrides)))
    assert (config.gan_alpha, config.d_cnum, config.beta1) == (0.1, 32, 0.5)  # an explicit --set wins
    assert started[-1].warm == tmp_path / "candidate"  # no GAN lane yet: it starts from the L1 chain
    make_carry(tmp_path / GAN_LANE, samples=10, gan_alpha=0.05)
    assert cli_main([*argv, "--gan"]) == 0
    assert started[-1].warm == tmp_path / GAN_LANE
    assert cli_main(argv) == 0  # without --gan: the L1 chain's recipe
    assert relay.relay_config(started[-1], relay.parse_overrides(list(started[-1].overrides))).gan_alpha == 0


@pytest.mark.slow
def test_finish_judges_a_carried_in_set_without_a_relay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GPU call's carry set goes through the same judgement; no relay ran in the folder."""
    from inpaint_core.train import relay_finish

    committed = make_carry(tmp_path / "candidate", samples=100)
    gpu_out = make_carry(tmp_path / "gpu_out", samples=5000)
    images, masks = write_bench_folders(tmp_path / "eval")
    card = tmp_path / "MODEL_CARD.md"
    monkeypatch.setattr(relay_finish, "at_least_as_good", lambda old, new: True)
    with pytest.raises(InpaintError, match="photo pack"):
        finish(tmp_path / "none", committed, card, images, masks, count=2, say=lambda _: None, carry=gpu_out)
    report = finish(
        tmp_path / "none",
        committed,
        card,
        images,
        masks,
        count=2,
        say=lambda _: None,
        bench_size=32,
        carry=gpu_out,
        data=make_pack(tmp_path),
    )
    assert report.kept and carry_samples(committed / EMA_FILE) == 5000
    assert "| carried in | 5,000 |" in card.read_text()
    assert (gpu_out / EMA_FILE).is_file()  # judged in place, not moved
