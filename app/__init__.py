"""DeepFill Studio editor (PySide6). The only package that imports Qt; it talks to the core only through its
front door (`inpaint_core.api`, `boxes`, `image_io`, `errors`); only `app.main` builds the engine (docs/DESIGN.md)."""
