"""Command-line interface. Subcommands live in sibling modules; each exposes `add_parser` and `run`.

Only this package turns exceptions into a one-line message on stderr and an exit code: every error the user
can act on (bad arguments included) prints exactly one line `error: ...` and exits 2; SIGINT exits 130 and
SIGTERM 143, both after the atomic writers have removed their temporary files.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn, TextIO

# name -> module that implements it (imported lazily, so `inpaint` does not pay for the trainer's imports)
COMMANDS: dict[str, str] = {
    "inpaint": "inpaint_core.cli.inpaint",
    "detect-scratches": "inpaint_core.cli.scratches",
    "convert-weights": "inpaint_core.cli.convert",
    "train": "inpaint_core.cli.train",
    "bench": "inpaint_core.cli.bench",
}


class UsageError(Exception):
    """Bad command-line arguments (argparse's complaint, without its usage block)."""


class Terminated(BaseException):
    """SIGTERM arrived. A BaseException, like KeyboardInterrupt, so that only the cleanup code sees it."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, except that a bad argument raises UsageError instead of printing the usage block and
    exiting: the CLI shows it as one line. Subparsers inherit the class."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see: {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python main.py", description="DeepFill v2 inpainting: CLI.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module_name in COMMANDS.items():
        importlib.import_module(module_name).add_parser(sub, name)
    return parser


def one_line(exc: BaseException) -> str:
    """An exception's message as one line. A DataLoader worker's error arrives as "Caught X in DataLoader
    worker ... Original Traceback ..."; its last line is the original message."""
    text = str(exc).strip() or type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and "Traceback" in text:
        last = lines[-1]
        head, sep, rest = last.partition(": ")
        return rest if sep and "." in head and " " not in head else last  # drop "module.ErrorClass: "
    return lines[0]


def main(argv: Sequence[str] | None = None) -> int:
    from inpaint_core.errors import InpaintError

    with _quiet_native_stderr() as stderr, _sigterm_raises(), _log_to(stderr):
        # Library warnings (torch, PIL's "Corrupt EXIF data", numpy) are noise before a one-line error.
        logging.captureWarnings(True)
        logging.getLogger("py.warnings").setLevel(logging.ERROR)

        def fail(message: str, code: int = 2) -> int:
            print(f"error: {message}", file=stderr)
            return code

        try:
            args = build_parser().parse_args(list(argv) if argv is not None else None)
            return int(args.run(args))
        except UsageError as exc:
            return fail(str(exc))
        except InpaintError as exc:
            from inpaint_core.cli.advice import with_advice

            return fail(with_advice(one_line(exc), exc))
        except KeyboardInterrupt:
            return fail("interrupted", 130)
        except Terminated:
            return fail("terminated", 128 + signal.SIGTERM)
        except MemoryError:
            return fail("out of memory; try a smaller --max-side or another device")
        except OSError as exc:  # a file the command touched (a run folder, an output folder) is not usable
            where = f"{exc.filename}: " if exc.filename else ""
            return fail(f"{where}{exc.strerror or one_line(exc)}")
        finally:
            logging.captureWarnings(False)


@contextlib.contextmanager
def _log_to(stream: TextIO) -> Iterator[None]:
    """Our log lines ("WARNING: ...") on `stream` while a command runs, unless the host (a test, a script
    calling `main`) configured logging itself."""
    root = logging.getLogger()
    if root.handlers:
        yield
        return
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into the Terminated exception while a command runs (main thread only), so `atomic_write`
    deletes its temporary file as it does for Ctrl+C; the previous handler comes back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    owner = os.getpid()

    def handler(signum: int, _frame: Any) -> None:
        if os.getpid() != owner:  # a forked DataLoader worker: end quietly, as without this handler
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[TextIO]:
    """Yield the stream the CLI writes its messages to, with native libraries' chatter silenced.

    libtiff, libpng and OpenCV print warnings straight to file descriptor 2 from C, where no Python filter
    reaches. When stderr is the process's descriptor 2, that descriptor is pointed at the null device for the
    duration and Python's stderr (our messages, logging, progress bars) at a duplicate of the original.
    """
    stream = sys.stderr
    try:
        is_fd2 = stream.fileno() == 2
    except (AttributeError, OSError, ValueError):  # a test's captured stream
        is_fd2 = False
    if not is_fd2 or os.environ.get("DEEPFILL_NATIVE_STDERR"):
        yield stream
        return
    stream.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    ours = os.fdopen(os.dup(saved), "w", buffering=1, encoding=stream.encoding, errors="backslashreplace")
    sys.stderr = ours
    try:
        yield ours
    finally:
        ours.flush()
        sys.stderr = stream
        os.dup2(saved, 2)
        os.close(saved)
        ours.close()
