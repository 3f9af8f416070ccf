"""Composition root: parse argv, create the QApplication, settings, engine and main window."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from inpaint_core import RESOURCES
from inpaint_core.api import Engine

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.settings import AppSettings

DEMO_PHOTO = RESOURCES / "demo" / "coffee.png"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python main.py", description="DeepFill Studio: the inpainting editor."
    )
    parser.add_argument("photo", nargs="?", help="photo to open (default: the bundled demo photo)")
    parser.add_argument(
        "--self-test", action="store_true", help="run the editor through a scripted session and exit"
    )
    parser.add_argument(
        "--screenshot", metavar="OUT.png", help="with --self-test: save a screenshot of the window here"
    )
    parser.add_argument(
        "--weights",
        metavar="FILE",
        help="DeepFill weights (.safetensors) for this session (later launches keep the model chosen in the editor)",
    )
    parser.add_argument(
        "--settings", metavar="FILE.ini", help="keep settings in this ini file (default: the user's store)"
    )
    return parser


def create_engine() -> Engine:
    """The real engine: the one place the editor builds it (the rest of `app/` sees only `inpaint_core.api`).

    Importing it loads torch, so it happens here, after the window's modules, not at import time.
    """
    from inpaint_core.engine import InpaintEngine

    return InpaintEngine()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the editor; returns the process exit code."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")

    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.theme import apply_theme

    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setApplicationName("DeepFill Studio")
    app.setOrganizationName("DeepFillStudio")

    if args.self_test:
        from app.self_test import run_self_test

        return run_self_test(
            app,
            create_engine(),
            Path(args.photo) if args.photo else DEMO_PHOTO,
            args.screenshot,
            args.weights,
        )

    settings = session_settings(args)
    apply_theme(app, settings.theme)
    window = MainWindow(settings, create_engine())
    window.show()
    if not window.offer_recovery():  # a crashed or killed session's unsaved work comes first
        window.open_at_startup(Path(args.photo) if args.photo else DEMO_PHOTO)
    quit_on_signal(app, window)
    return int(app.exec())


def quit_on_signal(app: QApplication, window: MainWindow) -> None:
    """SIGTERM/SIGINT: keep unsaved work in the recovery copy and exit with 128 + the signal's number."""
    from app.terminate import TerminationHandler

    def on_signal(signum: int) -> None:
        window.terminate()
        app.exit(128 + signum)

    TerminationHandler(on_signal, app)  # the app owns it


def session_settings(args: argparse.Namespace) -> AppSettings:
    """The user's settings with the command line's choices laid over them for this session only: ``--weights``
    is used now and never written, so a later plain launch is back to the model chosen in the editor."""
    from app.settings import AppSettings

    settings = AppSettings.from_ini(Path(args.settings)) if args.settings else AppSettings()
    if args.weights:
        settings.use_weights_for_session(str(Path(args.weights).resolve()))
    return settings
