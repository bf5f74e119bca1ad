"""InpaintSANet: the two-stage gated-convolution inpainting generator of the GRSL letter
"Context-based Multi-scale Unified Network for Missing Data Reconstruction in Remote Sensing Images"
(GRSL 2022, the predecessor of the TGRS pyramidal GAN; reference code
github.com/Oliiveralien/Inpainting-on-RSI, ``models/sa_gan.py``, ``models/networks.py``).

The generator, block by block as the authors' module builds it (``c`` = ``width`` = 32)::

    [masked image, mask, ones] ─ CoarseNet ─ clamp ─ coarse
        encoder  5x5 c │ 4x4/2 2c │ 3x3 2c │ 4x4/2 4c │ 3x3 4c x2          (H/4)
        DilatedChain  3x3 4c at dilation 2, 4, 8, 16
        GatedDecoder  3x3 4c x2 │ up x2 3x3 2c │ 3x3 2c │ up x2 3x3 c │ 3x3 c/2 │ 3x3 out (no activation)

    [image outside the mask, coarse inside, mask, ones] ─ RefineNet ─ clamp ─ refined
        encoder  5x5 c │ 4x4/2 c │ 3x3 2c │ 4x4/2 2c │ 3x3 4c x3            (H/4)
        DilatedChain │ SelfAttention (SAGAN, 4c at H/4) │ GatedDecoder

Every layer is a :class:`GatedConv`: ``BN(LeakyReLU(f(x)) * sigmoid(g(x)))`` (the last one of each
decoder without the LeakyReLU), zero padding, Kaiming-normal initialisation, as the authors'. The
published generator has **6,053,113** parameters for RGB (the README's 6.05 M); the SN-PatchGAN
critic :class:`SNPatchGANDiscriminator` 4,938,497 for its 5-channel input (the README's 4.94 M).

Input layout (``x`` of ``in_channels`` bands; the image has ``out_channels`` of them)::

    x = [image (out_channels), mask (1; 1 = missing), guidance (in_channels - out_channels - 1)]

``forward`` returns ``(coarse, refined)``; ``refined`` is already composited,
``image * (1 - mask) + prediction * mask``, so every valid pixel comes back exactly. The training
recipe of the letter is here as functions: :func:`reconstruction_loss` (masked L1 on both stages,
hole and valid terms each normalised by their area, all weights 1.2), :func:`hinge_discriminator_loss`
and :func:`hinge_generator_loss` (SN-PatchGAN, generator weight 0.005 in the letter).

Deviations from the authors' code, and why:

* Masked pixels are **zeroed** in the network input (the authors fill them with 1, white in their
  [-1, 1] range). With the mask as its own channel both carry the same information; zero is
  neutral under this project's [0, 1] normalisations and matches the convolutions' zero padding.
  Whatever the caller puts under the mask (nodata values, a push-pull pre-fill) is ignored.
* ``refined`` is composited inside the network (the authors composite outside, in the training and
  test scripts), so an exported model cannot alter a valid pixel. ``coarse`` is returned raw: its
  loss has a valid-area term as in the letter; the refined stage's valid term is then zero.
* Each gated convolution is one convolution to ``2 * out`` channels split into feature and gate
  (the authors run two convolutions of ``out``): the same function and parameter count, one kernel
  launch instead of two.
* Extra bands after the mask are the authors' ``img_exs`` (guidance such as another date): they go
  into both stages' inputs beside the image. With ``in_channels == out_channels`` there is no mask
  band: nothing is missing and the image comes back unchanged (this is what the parameter listing
  of ``python -m training archs``, 3 -> 3 bands, builds; the count does not depend on it).
* ``forward`` reflect-pads to a multiple of 4 (two stride-2 steps) and crops back, so any tile size
  runs (from 4 px up: reflection needs a pad smaller than the side); the authors feed 256 x 256.
  Global self-attention at H/4 makes a tile's output depend on the whole tile and costs
  ``(H W / 16)^2`` floats: 64 MiB for a 256 px tile, 1 GiB for 512 px.
* No perceptual or style loss (VGG16 ImageNet weights are not available offline; TRAINING.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .padding import pad_to_multiple

#: Spatial multiple the network needs: two stride-2 steps down to the H/4 grid.
MULTIPLE = 4
#: The letter's rates of the dilated chain at H/4.
DILATIONS = (2, 4, 8, 16)


@dataclass(frozen=True)
class InpaintSANetConfig:
    """Widths of an InpaintSANet; ``InpaintSANetConfig()`` is the published generator."""

    #: Bands of ``x``: the image, the mask, then any guidance bands (see the module docstring).
    in_channels: int = 4
    #: Bands of the image (and of both outputs).
    out_channels: int = 3
    #: Base width ``cnum``: the H/4 grid runs at ``4 * width`` channels.
    width: int = 32

    @classmethod
    def full(cls) -> InpaintSANetConfig:
        return cls()

    @classmethod
    def lite(cls) -> InpaintSANetConfig:
        """Every block of the letter at half the width (about a quarter of the parameters)."""
        return cls(width=16)


class GatedConv(nn.Module):
    """Gated convolution (Yu et al., "Free-Form Image Inpainting with Gated Convolution"):
    ``BN(act(f(x)) * sigmoid(g(x)))``; the gate in (0, 1) learns per pixel and channel how much
    of each feature to pass, so features computed from missing pixels can be shut off.

    ``same`` zero padding: a stride-1 layer keeps the size, a 4x4 stride-2 layer halves an even one.
    """

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, dilation: int = 1,
                 activation: bool = True) -> None:  # fmt: skip
        super().__init__()
        padding = (dilation * (kernel - 1) + 1 - stride) // 2
        self.conv = nn.Conv2d(cin, 2 * cout, kernel, stride, padding, dilation)
        self.activation = nn.LeakyReLU(0.2) if activation else nn.Identity()
        self.norm = nn.BatchNorm2d(cout)
        nn.init.kaiming_normal_(self.conv.weight)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The gating values in (0, 1) for input ``x`` (what multiplies the features)."""
        return torch.sigmoid(self.conv(x).chunk(2, dim=1)[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature, gate = self.conv(x).chunk(2, dim=1)
        return self.norm(self.activation(feature) * torch.sigmoid(gate))


class GatedDeconv(nn.Module):
    """Nearest-neighbour x2 up-sampling followed by a 3x3 :class:`GatedConv` (resize-convolution)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = GatedConv(cin, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class SelfAttention(nn.Module):
    """SAGAN self-attention (Zhang et al., 2019): ``gamma * V softmax(Q^T K) + x`` over all positions,
    ``Q``/``K`` 1x1 convolutions to ``C/8``, ``V`` to ``C``, ``gamma`` starting at 0 (identity)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.query = nn.Conv2d(channels, channels // 8, 1)
        self.key = nn.Conv2d(channels, channels // 8, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (B, HW, C/8)
        k = self.key(x).flatten(2)  # (B, C/8, HW)
        attention = torch.softmax(torch.bmm(q, k), dim=-1)  # (B, HW query, HW key)
        out = torch.bmm(self.value(x).flatten(2), attention.transpose(1, 2)).view(b, c, h, w)
        return self.gamma * out + x


class DilatedChain(nn.Sequential):
    """The letter's context block at H/4: 3x3 gated convolutions at dilations 2, 4, 8, 16 in series
    (a receptive field of 61 cells, 244 px, without further down-sampling)."""

    def __init__(self, channels: int, dilations: tuple[int, ...] = DILATIONS) -> None:
        super().__init__(*(GatedConv(channels, channels, 3, dilation=d) for d in dilations))


class GatedDecoder(nn.Sequential):
    """Both stages' decoder: two 3x3 at ``4c``, up to ``2c``, 3x3, up to ``c``, 3x3 to ``c/2``, and a
    3x3 to the output bands without activation (but with BN, as the authors')."""

    def __init__(self, width: int, out_channels: int) -> None:
        c = width
        super().__init__(
            GatedConv(4 * c, 4 * c), GatedConv(4 * c, 4 * c),
            GatedDeconv(4 * c, 2 * c), GatedConv(2 * c, 2 * c),
            GatedDeconv(2 * c, c),
            GatedConv(c, c // 2), GatedConv(c // 2, out_channels, activation=False),
        )  # fmt: skip


class CoarseNet(nn.Module):
    """Stage 1: gated encoder to ``4c`` at H/4, a context block (the letter's :class:`DilatedChain`;
    the TGRS network passes its pyramidal one), :class:`GatedDecoder`."""

    def __init__(self, cin: int, cout: int, width: int, context: nn.Module | None = None) -> None:
        super().__init__()
        c = width
        self.encoder = nn.Sequential(
            GatedConv(cin, c, 5), GatedConv(c, 2 * c, 4, 2), GatedConv(2 * c, 2 * c),
            GatedConv(2 * c, 4 * c, 4, 2), GatedConv(4 * c, 4 * c), GatedConv(4 * c, 4 * c),
        )  # fmt: skip
        self.context = context if context is not None else DilatedChain(4 * c)
        self.decoder = GatedDecoder(c, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.context(self.encoder(x)))


class RefineEncoder(nn.Sequential):
    """Stage 2's encoder (narrower early layers than stage 1's): 5x5 ``c``, 4x4/2 ``c``, 3x3 ``2c``,
    4x4/2 ``2c``, 3x3 ``4c`` x3, ending at ``4c`` on the H/4 grid."""

    def __init__(self, cin: int, width: int) -> None:
        c = width
        super().__init__(
            GatedConv(cin, c, 5), GatedConv(c, c, 4, 2), GatedConv(c, 2 * c),
            GatedConv(2 * c, 2 * c, 4, 2), GatedConv(2 * c, 4 * c), GatedConv(4 * c, 4 * c),
            GatedConv(4 * c, 4 * c),
        )  # fmt: skip


class RefineNet(nn.Module):
    """Stage 2: :class:`RefineEncoder`, :class:`DilatedChain`, :class:`SelfAttention` at H/4 (borrows
    texture from distant valid areas), :class:`GatedDecoder`."""

    def __init__(self, cin: int, cout: int, width: int) -> None:
        super().__init__()
        self.encoder = RefineEncoder(cin, width)
        self.context = DilatedChain(4 * width)
        self.attention = SelfAttention(4 * width)
        self.decoder = GatedDecoder(width, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.attention(self.context(self.encoder(x))))


class InpaintSANet(nn.Module):
    """The GRSL generator (see the module docstring): ``x`` -> ``(coarse, refined)``."""

    def __init__(self, config: InpaintSANetConfig) -> None:
        super().__init__()
        self.config = config
        bands, extra = config.out_channels, config.in_channels - config.out_channels
        if extra < 0:
            raise ValueError(f"InpaintSANet needs the {bands} image bands in its input, got "
                             f"in_channels={config.in_channels}")  # fmt: skip
        self.guidance = max(extra - 1, 0)
        # Stage inputs: image, guidance bands, mask, a plane of ones (marks the zero padding).
        cin = bands + self.guidance + 2
        self.coarse = CoarseNet(cin, bands, config.width)
        self.refine = RefineNet(cin, bands, config.width)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = x.shape[-2:]
        x = pad_to_multiple(x, MULTIPLE)
        bands = self.config.out_channels
        image = x[:, :bands]
        if self.config.in_channels > bands:
            mask, guidance = x[:, bands : bands + 1], x[:, bands + 1 :]
        else:
            mask, guidance = torch.zeros_like(x[:, :1]), x[:, bands:]
        ones = torch.ones_like(mask)
        masked = image * (1.0 - mask)
        coarse = self.coarse(torch.cat([masked, guidance, mask, ones], dim=1)).clamp(-1.0, 1.0)
        composite = masked + coarse * mask
        refined = self.refine(torch.cat([composite, guidance, mask, ones], dim=1)).clamp(-1.0, 1.0)
        out = masked + refined * mask
        return coarse[..., :height, :width], out[..., :height, :width]


class SNConv(nn.Sequential):
    """Spectral-normalised 4x4 stride-2 convolution + LeakyReLU(0.2): the critic's layer."""

    def __init__(self, cin: int, cout: int) -> None:
        conv = nn.Conv2d(cin, cout, 4, 2, 1)
        nn.init.kaiming_normal_(conv.weight)
        super().__init__(nn.utils.spectral_norm(conv), nn.LeakyReLU(0.2))


class SNPatchGANDiscriminator(nn.Module):
    """The letter's SN-PatchGAN critic (global; the SLC-off setting uses this one only).

    Seven :class:`SNConv` (``w``, ``2w``, ``4w``, then ``4w`` x4, ``w`` = 64) with
    :class:`SelfAttention` before the last; each output cell is one patch logit, flattened to
    (B, N) as the authors'. Input: the image, the mask and a plane of ones (``in_channels`` = bands
    + 2); seven halvings need at least 128 px (a 128 px crop gives one cell of ``4w`` logits, 256 px
    four cells).
    """

    def __init__(self, in_channels: int = 5, width: int = 64) -> None:
        super().__init__()
        w = width
        self.layers = nn.Sequential(
            SNConv(in_channels, w), SNConv(w, 2 * w), SNConv(2 * w, 4 * w),
            SNConv(4 * w, 4 * w), SNConv(4 * w, 4 * w), SNConv(4 * w, 4 * w),
        )  # fmt: skip
        self.attention = SelfAttention(4 * w)
        self.last = SNConv(4 * w, 4 * w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last(self.attention(self.layers(x))).flatten(1)


def hinge_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """SN-PatchGAN hinge loss of the critic: ``mean(relu(1 - real)) + mean(relu(1 + fake))``."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def hinge_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's hinge term: ``-mean(fake)`` (the letter weights it 0.005)."""
    return -fake_logits.mean()


def reconstruction_loss(target: torch.Tensor, coarse: torch.Tensor, refined: torch.Tensor,
                        mask: torch.Tensor, weight: float = 1.2) -> torch.Tensor:  # fmt: skip
    """The letter's masked L1 on both stages: for each of ``coarse`` and ``refined``, the mean L1
    inside the mask divided by the mask's share of the image plus the same outside divided by the
    valid share (so small holes weigh as much as large ones), every term weighted ``weight``."""
    area = mask.flatten(1).mean(1).view(-1, 1, 1, 1)
    hole, valid = area.clamp_min(1e-6), (1.0 - area).clamp_min(1e-6)
    total = target.new_zeros(())
    for pred in (coarse, refined):
        error = (target - pred).abs()
        total = total + weight * ((error * mask / hole).mean() + (error * (1.0 - mask) / valid).mean())
    return total
