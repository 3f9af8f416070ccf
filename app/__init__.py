"""DeepFill Studio editor (PySide6). The only package that imports Qt; it talks to the core through
`inpaint_core.engine` and `inpaint_core.image_ops`."""
