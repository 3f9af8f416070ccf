"""Losses of the published recipe (Yu et al., ICCV 2019; docs/TRAINING.md) and the DeepFill v1 options.

v2: L1 on both stages over the whole image, SN-PatchGAN hinge loss, weights 1 : 1.
v1 options: spatially discounted L1 (gamma 0.9) and WGAN-GP (lambda 10).
The project's phase 1 (presets.py): L1 averaged over the hole pixels plus a small weight on the known pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def l1_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """mean |pred - target|, optionally weighted per pixel (weights broadcast over channels).

    Shape: pred, target (B,3,H,W); weight (B,1,H,W) or None -> scalar.
    """
    diff = (pred.float() - target.float()).abs()
    if weight is None:
        return diff.mean()
    return (diff * weight).mean()


def hole_l1(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, known_weight: float
) -> torch.Tensor:
    """mean |pred - target| over the hole's pixels + known_weight x the same over the known pixels.

    Means over all pixels of the batch (a pixel of a small hole counts as much as one of a large hole), and over
    the channels; an empty region contributes 0. Without the hole average, the loss of a 10% hole would be
    diluted ten times by the known pixels the paste throws away.

    Shape: pred, target (B,3,H,W); mask (B,1,H,W) {0,1} -> scalar.
    """
    diff = (pred.float() - target.float()).abs().mean(1, keepdim=True)  # (B, 1, H, W)
    hole = mask.float()
    known = 1.0 - hole
    hole_term = (diff * hole).sum() / hole.sum().clamp(min=1.0)
    known_term = (diff * known).sum() / known.sum().clamp(min=1.0)
    return hole_term + known_weight * known_term


def discounted_weight(mask: torch.Tensor, gamma: float = 0.9, max_distance: int = 64) -> torch.Tensor:
    """DeepFill v1's spatial discount generalised to free-form holes: gamma ** d inside the hole, 1 outside.

    d is the chessboard distance to the nearest known pixel, so for a rectangle this is exactly v1's
    max(gamma^min(i, H-i), gamma^min(j, W-j)). Beyond `max_distance` the weight stays gamma^max_distance.

    Shape: mask (B,1,H,W) {0,1} -> (B,1,H,W) float.
    """
    hole = mask.float()
    distance = torch.zeros_like(hole)
    inner = hole
    for _ in range(max_distance):
        if not bool(inner.any()):
            break
        distance = distance + inner
        inner = -F.max_pool2d(-inner, 3, stride=1, padding=1)  # erode by one pixel (8-neighbourhood)
    # d counts the erosions a pixel survives: 1 on the hole border, which v1 weights gamma^0 = 1
    return torch.where(hole > 0, gamma ** (distance - 1).clamp(min=0), torch.ones_like(hole))


def hinge_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """0.5 * mean(relu(1 - D(real))) + 0.5 * mean(relu(1 + D(fake)))."""
    return 0.5 * F.relu(1.0 - d_real.float()).mean() + 0.5 * F.relu(1.0 + d_fake.float()).mean()


def generator_gan_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """-mean(D(fake)): the G side of both hinge and WGAN losses."""
    return -d_fake.float().mean()


def wgan_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """mean(D(fake)) - mean(D(real))."""
    return d_fake.float().mean() - d_real.float().mean()


def interpolates(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Random points between real and (detached) fake samples, one mixing weight per sample, requiring grad.

    Shape: (B,3,H,W) -> (B,3,H,W).
    """
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    return (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)


def gradient_penalty(scores: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: mean over samples of (||grad_x D(x)||_2 - 1)^2, with D's scores at the interpolates `points`.

    The scores are passed in (not D) so D runs once per step on [real, fake, interpolates] (one DDP forward).

    Shape: scores (B, N); points (B,3,H,W) -> scalar.
    """
    (grad,) = torch.autograd.grad(scores.float().sum(), points, create_graph=True)
    norm = grad.flatten(1).norm(dim=1)  # (B,)
    return ((norm - 1.0) ** 2).mean()
