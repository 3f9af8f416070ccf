"""The fused gate (model/gating.py) against the eager gate: the same values and the same gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from inpaint_core.model import DeepFillV2Generator, GeneratorConfig
from inpaint_core.model.gating import fused_gate, gate_backward, gate_forward
from inpaint_core.model.layers import use_fused_gating


def _eager(y: torch.Tensor, activation: str) -> torch.Tensor:
    f, g = y.chunk(2, dim=1)
    return (F.relu(f) if activation == "relu" else F.elu(f)) * torch.sigmoid(g)


@pytest.mark.parametrize("activation", ["elu", "relu"])
def test_formulas_match_autograd_of_the_eager_gate(activation: str) -> None:
    """The hand-written backward, uncompiled, in float64: exact to rounding."""
    torch.manual_seed(7)  # a seed where a float32 step inside showed (1.9e-7 off)
    y = torch.randn(2, 6, 5, 7, dtype=torch.float64, requires_grad=True)
    grad = torch.randn(2, 3, 5, 7, dtype=torch.float64)
    out = _eager(y, activation)
    (expected,) = torch.autograd.grad(out, y, grad)
    torch.testing.assert_close(gate_forward(y.detach(), activation == "relu"), out.detach())
    torch.testing.assert_close(gate_backward(y.detach(), grad, activation == "relu"), expected)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("activation", "dtype"), [("elu", torch.float32), ("relu", torch.float32), ("elu", torch.bfloat16)]
)
def test_compiled_gate_matches_eager(activation: str, dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    y = (torch.randn(2, 8, 6, 10) * 2).to(dtype)
    grad = torch.randn(2, 4, 6, 10).to(dtype)
    a = y.clone().requires_grad_(True)
    b = y.clone().requires_grad_(True)
    fused_gate(a, activation).backward(grad)
    _eager(b.float(), activation).to(dtype).backward(grad)
    tol = {"rtol": 2e-2, "atol": 2e-2} if dtype == torch.bfloat16 else {"rtol": 1e-5, "atol": 1e-6}
    torch.testing.assert_close(
        fused_gate(y, activation).float(), _eager(y.float(), activation).to(dtype).float(), **tol
    )
    assert a.grad is not None and b.grad is not None
    torch.testing.assert_close(a.grad.float(), b.grad.float(), **tol)


def test_switch_reaches_every_gated_conv_and_leaves_inference_alone() -> None:
    model = DeepFillV2Generator(GeneratorConfig(cnum=8))
    gated = use_fused_gating(model)
    assert gated == sum(1 for m in model.modules() if getattr(m, "gated", False))
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:20, 8:20] = 1
    with torch.no_grad():  # inference never calls the compiled gate: no compile, the same output
        fused_off = DeepFillV2Generator(GeneratorConfig(cnum=8))
        fused_off.load_state_dict(model.state_dict())
        torch.testing.assert_close(model(x, mask).fine, fused_off.eval()(x, mask).fine)
    with pytest.raises(ValueError, match="no fused gate"):
        fused_gate(torch.zeros(1, 2, 2, 2), "tanh")
