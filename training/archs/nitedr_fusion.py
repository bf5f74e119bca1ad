"""NiteDR's FusionNet: the fusion stage of night de-raining with infrared fusion.

NiteDR (Shi et al., TMM 2024, arXiv 2402.18172; reference code
github.com/CidanShi/NiteDR-Nighttime-Image-De-raining, ``Dense.py``, ``refine.py``, ``CLFU_test.py``).
It takes the de-rained visible image (stage 1, :mod:`training.archs.clformer`) and the co-registered
infrared image and fuses only their luminance; colour comes from the visible image::

    derained RGB ─ YCrCb ─ Y ─┐                         Cr, Cb ─┐
                               ├─ DenseFuser ─ tanh ─ fused Y ─┴─ RGB ─ fused ─┐
    infrared ─── (as YCrCb) Y ─┘                                                ├─ BalanceModule ─ out
                  └──── infrared YCrCb ────────────────────────────────────────┘

* **DenseFuser** (the authors' ``DenseNet``, 659,217 parameters): Y of both in [-1, 1] stacked,
  a 3x3 conv to 44 channels, 5 dense layers (3x3, growth 44, each output concatenated after its
  input: 264 channels), 3x3 convs 264 -> 128 -> 64 -> 32 with LeakyReLU(0.2), 3x3 to 1 and tanh.
* **BalanceModule** (837 parameters): SCI-style illumination calibration (Ma et al., CVPR 2022).
  ``g`` is a 3x3 conv from the 6 stacked channels (fused RGB, infrared YCrCb), one residual
  conv-BN-ReLU, a 3x3 conv to 3 and a sigmoid; the illumination is
  ``i = clamp(g + fused, 1e-4, 1)`` and the output ``clamp(fused / i, 0, 1)``.

``NiteDRFusionConfig()`` is the published network (660,054 parameters). It is already small and
runs at full resolution only through 3x3 convolutions, so ``lite()`` is the same network.

Deviations from the authors' code, and why:

* Colour conversion is full-range BT.601 (JPEG / OpenCV ``COLOR_RGB2YCrCb``, which the authors
  apply to the inputs) in both directions, done in the graph on floats. The authors convert back
  with the studio-range inverse (``1.164 (Y - 16/255) ...``), which does not invert their forward
  conversion and stretches contrast and colour; here a fused Y equal to the visible Y gives back the
  visible image exactly. The authors also convert through 8-bit images; here nothing is rounded.
* The infrared input is one band in [0, 1]. The authors read it as a 3-channel greyscale JPEG and
  convert it to YCrCb, which gives Y = the grey value and Cr = Cb = 128/255; here Cr = Cb = 0.5
  (the continuous centre), i.e. 0 in [-1, 1] where the authors have 1/255.
* The training-only ``AdjustModule`` of the authors' ``Refinement`` (self-calibration over three
  cascaded passes) is not built: it does not run at inference and belongs to the training recipe.
* ``forward`` takes the two rasters, or both stacked in one tensor (RGB then infrared), the form in
  which the training loop and the export wrapper pass a task's inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

#: Full-range BT.601 (JPEG, OpenCV): RGB -> (Y, Cr, Cb), all in [0, 1] with Cr, Cb centred at 0.5.
RGB_TO_YCRCB = ((0.299, 0.587, 0.114),
                (0.5, -0.418688, -0.081312),
                (-0.168736, -0.331264, 0.5))  # fmt: skip
#: Its inverse (computed once in float64), so that a round trip gives back the input.
YCRCB_TO_RGB = tuple(map(tuple, torch.linalg.inv(torch.tensor(RGB_TO_YCRCB, dtype=torch.float64)).tolist()))


@dataclass(frozen=True)
class NiteDRFusionConfig:
    """Widths of the fusion stage; ``NiteDRFusionConfig()`` is the published one."""

    #: Width of the first conv and growth of each dense layer.
    growth: int = 44
    #: Dense layers (the dense block ends at ``growth * (dense_layers + 1)`` channels).
    dense_layers: int = 5
    #: Widths of the 3x3 convs that reduce the dense block to the fused Y.
    decoder: tuple[int, ...] = (128, 64, 32)
    #: Width of the BalanceModule's illumination estimator.
    balance_channels: int = 6

    def __post_init__(self) -> None:
        object.__setattr__(self, "decoder", tuple(self.decoder))

    @classmethod
    def full(cls) -> NiteDRFusionConfig:
        return cls()

    @classmethod
    def lite(cls) -> NiteDRFusionConfig:
        """The published network: 0.66 M parameters, all 3x3 convolutions, already CPU-sized."""
        return cls()


def _centre(like: torch.Tensor) -> torch.Tensor:
    return like.new_tensor((0.0, 0.5, 0.5)).view(1, 3, 1, 1)


def rgb_to_ycrcb(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (Y, Cr, Cb) in [0, 1], full-range BT.601."""
    return F.conv2d(rgb, rgb.new_tensor(RGB_TO_YCRCB).view(3, 3, 1, 1)) + _centre(rgb)


def ycrcb_to_rgb(ycrcb: torch.Tensor) -> torch.Tensor:
    """The exact inverse of :func:`rgb_to_ycrcb`."""
    return F.conv2d(ycrcb - _centre(ycrcb), ycrcb.new_tensor(YCRCB_TO_RGB).view(3, 3, 1, 1))


def _conv(cin: int, cout: int) -> nn.Sequential:
    """3x3 conv with bias + LeakyReLU(0.2): the authors' ``ConvBlock(..., act_type='lrelu')``."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.2))


class DenseLayer(nn.Module):
    """A 3x3 conv + LeakyReLU whose ``growth`` outputs are concatenated after its input."""

    def __init__(self, channels: int, growth: int) -> None:
        super().__init__()
        self.conv = _conv(channels, growth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv(x)], dim=1)


class DenseFuser(nn.Module):
    """The dense luminance fuser (the authors' ``DenseNet``): visible Y and infrared Y in [-1, 1]
    in, fused Y in [-1, 1] (tanh) out."""

    def __init__(
        self, growth: int = 44, dense_layers: int = 5, decoder: tuple[int, ...] = (128, 64, 32)
    ) -> None:
        super().__init__()
        self.conv_1 = _conv(2, growth)
        layers = (DenseLayer(growth * (i + 1), growth) for i in range(dense_layers))
        self.dense_layers = nn.Sequential(*layers)
        widths = (growth * (dense_layers + 1), *decoder)
        self.sub = nn.Sequential(
            *(_conv(cin, cout) for cin, cout in zip(widths[:-1], widths[1:], strict=False)),
            nn.Conv2d(widths[-1], 1, 3, padding=1),
            nn.Tanh(),
        )

    def forward(self, visible_y: torch.Tensor, infrared_y: torch.Tensor) -> torch.Tensor:
        x = self.conv_1(torch.cat([visible_y, infrared_y], dim=1))
        return self.sub(self.dense_layers(x))


class BalanceModule(nn.Module):
    """SCI-style illumination balance: ``i = clamp(g(fused, ir) + fused, 1e-4, 1)``; returns
    ``(clamp(fused / i, 0, 1), i)``. ``g`` is conv-ReLU, one residual conv-BN-ReLU, conv, sigmoid."""

    def __init__(self, channels: int = 6) -> None:
        super().__init__()
        self.in_conv = nn.Sequential(nn.Conv2d(6, channels, 3, padding=1), nn.ReLU())
        self.conv = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU()
        )
        self.out_conv = nn.Sequential(nn.Conv2d(channels, 3, 3, padding=1), nn.Sigmoid())

    def illumination(self, fused: torch.Tensor, infrared_ycrcb: torch.Tensor) -> torch.Tensor:
        """The estimated illumination ``i`` in [1e-4, 1] (what SCI's losses train)."""
        features = self.in_conv(torch.cat([fused, infrared_ycrcb], dim=1))
        features = features + self.conv(features)
        return torch.clamp(self.out_conv(features) + fused, 1e-4, 1.0)

    def forward(
        self, fused: torch.Tensor, infrared_ycrcb: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        illumination = self.illumination(fused, infrared_ycrcb)
        return torch.clamp(fused / illumination, 0.0, 1.0), illumination


class NiteDRFusion(nn.Module):
    """NiteDR's FusionNet (see the module docstring): de-rained RGB in [0, 1] and infrared (1 band,
    [0, 1]) in, the fused and balanced RGB in [0, 1] out."""

    def __init__(self, config: NiteDRFusionConfig) -> None:
        super().__init__()
        self.config = config
        self.fuser = DenseFuser(config.growth, config.dense_layers, config.decoder)
        self.balance = BalanceModule(config.balance_channels)

    def fuse(self, derained: torch.Tensor, infrared: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The fused RGB before balancing (what the fuser's losses see) and the infrared as YCrCb
        in [-1, 1] (what the BalanceModule reads)."""
        fused, infrared_ycrcb, _ = self._fuse(derained, infrared)
        return fused, infrared_ycrcb

    def _fuse(self, derained: torch.Tensor, infrared: torch.Tensor) -> tuple[torch.Tensor, ...]:
        visible = rgb_to_ycrcb(derained) * 2.0 - 1.0
        chroma = torch.zeros_like(infrared).expand(-1, 2, -1, -1)  # a grey image's Cr, Cb
        infrared_ycrcb = torch.cat([infrared * 2.0 - 1.0, chroma], dim=1)
        fused_y = self.fuser(visible[:, :1], infrared_ycrcb[:, :1])
        fused = ycrcb_to_rgb((torch.cat([fused_y, visible[:, 1:]], dim=1) + 1.0) / 2.0)
        self.loss_inputs = {"fused_y": fused_y, "visible_y": visible[:, :1],
                            "infrared_y": infrared_ycrcb[:, :1]}
        return fused, infrared_ycrcb, fused_y

    def forward(self, derained: torch.Tensor, infrared: torch.Tensor | None = None) -> torch.Tensor:
        """The balanced fused RGB. Also keeps the tensors the stage's losses read in
        ``self.loss_inputs`` (fused, visible and infrared Y in [-1, 1], the fused RGB before
        balancing, the illumination; ``training.losses.FUSION_LOSSES``). In training the balance
        module reads the fused image detached, so its SCI losses train it alone and the fuser's
        losses the fuser alone, as the authors train them (two optimisers)."""
        if infrared is None:  # both stacked: RGB then infrared
            derained, infrared = derained[:, :3], derained[:, 3:4]
        fused, infrared_ycrcb, _ = self._fuse(derained, infrared)
        balance_in = fused.detach() if self.training else fused
        out, illumination = self.balance(balance_in, infrared_ycrcb)
        self.loss_inputs.update(fused=balance_in, illumination=illumination)
        return out
