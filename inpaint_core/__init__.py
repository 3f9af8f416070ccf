"""Qt-free core of the editor: the DeepFill v2 model, its weights, the inference engine, training and benchmarks.

Conventions (said once, here and in image_ops): images are RGB at the boundaries, HxWx3 (or HxW grey,
HxWx4 RGBA), uint8 or uint16; masks are HxW with nonzero = hole; model tensors are float32 NCHW in [-1, 1].
"""

from pathlib import Path

__version__ = "0.1.0"

# Demo photo, shipped weights and their manifest, model card (a sibling of the packages, also in the wheel).
RESOURCES = Path(__file__).resolve().parents[1] / "resources"
