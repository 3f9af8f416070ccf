"""DeepFill v2 in PyTorch: gated convolutions, coarse-to-fine, contextual attention."""

from inpaint_core.model.attention import AttentionMap, ContextualAttention
from inpaint_core.model.config import AttentionConfig, DiscriminatorConfig, GeneratorConfig
from inpaint_core.model.discriminator import SNPatchDiscriminator
from inpaint_core.model.generator import (
    CoarseGenerator,
    DeepFillV2Generator,
    GeneratorOutput,
    RefineGenerator,
)
from inpaint_core.model.layers import GatedConv2d, GatedUpConv2d

__all__ = [
    "AttentionConfig",
    "AttentionMap",
    "CoarseGenerator",
    "ContextualAttention",
    "DeepFillV2Generator",
    "DiscriminatorConfig",
    "GatedConv2d",
    "GatedUpConv2d",
    "GeneratorConfig",
    "GeneratorOutput",
    "RefineGenerator",
    "SNPatchDiscriminator",
]
