"""Entry point: `python main.py` opens the editor; `python main.py inpaint|train|bench|convert-weights ...` runs the CLI."""

import sys

from inpaint_core.cli import COMMANDS

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in COMMANDS:
        from inpaint_core.cli import main as cli_main

        raise SystemExit(cli_main(sys.argv[1:]))
    from app.main import main as app_main  # imported late: the CLI must run without Qt

    raise SystemExit(app_main(sys.argv[1:]))
