"""Qt-free core of the editor: the DeepFill v2 model, its weights, the inference engine, training and benchmarks.

The conventions (image layouts, masks, boxes, model tensors) are spelled out once, in `inpaint_core.api`, the
front door callers use; docs/DESIGN.md draws the module graph.
"""

from pathlib import Path

__version__ = "0.1.0"

# Demo photo, shipped weights and their manifest, model card (a sibling of the packages, also in the wheel).
RESOURCES = Path(__file__).resolve().parents[1] / "resources"
