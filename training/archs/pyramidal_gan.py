"""The pyramidal GAN of "Efficient Pyramidal GAN for Versatile Missing Data Reconstruction in Remote
Sensing Images" (TGRS; Shao, Wang, Zuo, Meng), built on the authors' GRSL generator
(:mod:`training.archs.inpaint_sanet`).

**What is published and what is inferred.** The TGRS code was never released (github.com/
Oliiveralien/TGRS-SIMT holds only a README). The abstract names the blocks: a mask estimation
network (MEN) giving a unified *soft* mask, an inpainting network (UIN) with Dilated Pyramidal
Convolutions (DPC) and an Attention Fusion Mechanism (AFM), single-source input for stripes, dead
lines and clouds, and a spatio-spectral-temporal extension. Everything below that level is
inferred, and chosen to stay on the GRSL skeleton (whose code is public and reproduced exactly):

* **UIN** is the GRSL two-stage generator (same encoders, decoders, widths, gated convolutions,
  SAGAN attention at H/4, clamp, composite). *Inferred:* DPC replaces the dilated chain in *both*
  stages, ``dpc_layers`` deep (4 in ``full``, the chain's depth).
* **DilatedPyramidalConv** *(inferred)*: parallel 3x3 gated convolutions at dilations 1, 2, 4, 8,
  each producing a quarter of the channels, concatenated. At 4 layers it has exactly the parameters
  and cost of the 4-layer chain it replaces, and every layer mixes local and distant context
  instead of only one rate.
* **AttentionFusion** *(inferred)*: in the refine stage the attention and convolution branches run
  in parallel on the encoder features (GRSL chains them: dilated chain, then attention) and a gate
  ``g = sigmoid(conv1x1([a, c]))`` per pixel and channel mixes them, ``g * a + (1 - g) * c``. The
  gate's 1x1 convolution starts at zero (``g = 0.5``: the plain average).
* **MaskEstimationNet** *(inferred)*: a gated encoder-decoder on the image alone (H, H/2, H/4 with
  dilations 2 and 4, up with skip concatenations so one-pixel dead lines stay resolved), a 3x3 head
  and a sigmoid: a soft mask in [0, 1]. Trained with binary cross-entropy against the simulated mask
  (:func:`mask_estimation_loss`).
* **Spatio-temporal input** *(inferred; the abstract names the extension, the GRSL code passes such
  bands as ``img_exs``)*: a reference image (same place, another date, resampled onto the grid) and
  its presence flag go into both stages beside the image.

Input layout (``x`` of ``in_channels`` bands; the image has ``C = out_channels``)::

    C bands        [image]                                        soft mask only
    C + 2          [image, mask, mask flag]                       hard mask where the flag is 1
    2 C + 3        [image, mask, mask flag, reference (C), reference flag]

A flag is a constant plane: 1 when the input is given, 0 when absent (then send zeros). The mask
the network uses is ``flag * hard + (1 - flag) * soft``: with a hard mask (nodata, a user MASK) it is
exactly that mask, so every pixel it calls valid comes back unchanged; without one (stripes written
as valid values) MEN's soft mask decides. Absent reference bands are zeroed whatever their value.
The stage inputs are built for the full layout whatever ``in_channels`` is, so the parameter count
and the weights do not depend on which optional inputs an exported model declares.

``forward`` returns ``(coarse, refined, soft_mask)``: ``refined`` composited as
``image * (1 - m) + prediction * m`` with the mask ``m`` used, ``soft_mask`` MEN's estimate (for its
loss, also when a hard mask was used). Losses: the GRSL masked L1 on both stages and the SN-PatchGAN
hinge terms (:mod:`training.archs.inpaint_sanet`), plus :func:`mask_estimation_loss`.

Deviations beyond GRSL's (listed in :mod:`training.archs.inpaint_sanet`): none of the TGRS paper's
own can be checked; its losses, MEN depth and DPC rates are not public. Padding: reflect to a
multiple of 4, cropped back, so any size runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .inpaint_sanet import (
    CoarseNet,
    GatedConv,
    GatedDecoder,
    GatedDeconv,
    RefineEncoder,
    SelfAttention,
)
from .padding import pad_to_multiple

#: Spatial multiple the network needs: two stride-2 steps down to the H/4 grid.
MULTIPLE = 4
#: Dilation of each parallel 3x3 branch of a :class:`DilatedPyramidalConv`.
DPC_DILATIONS = (1, 2, 4, 8)


@dataclass(frozen=True)
class PyramidalGANConfig:
    """Widths of a pyramidal GAN; ``full()`` is the GRSL generator's widths with the TGRS blocks."""

    #: Bands of ``x``: ``C``, ``C + 2`` or ``2 C + 3`` (see the module docstring).
    in_channels: int = 3
    #: Bands of the image ``C`` (and of the outputs).
    out_channels: int = 3
    #: UIN base width ``cnum``: the H/4 grid runs at ``4 * width`` channels.
    width: int = 32
    #: MEN base width: its H/4 grid runs at ``4 * men_width`` channels.
    men_width: int = 16
    #: DilatedPyramidalConv layers in each stage's context block.
    dpc_layers: int = 4
    #: *Deviation (parameter-free):* start both stages from a classical estimate of the gaps, a
    #: push-pull interpolation or, where a reference date is valid, its local linear histogram match
    #: onto the image (:func:`prior_fill`), and make each stage predict a correction of its input
    #: (last batch norm zero-initialised). ``False`` is the GRSL generator's zero-filled holes.
    prefill: bool = True

    @classmethod
    def full(cls) -> PyramidalGANConfig:
        return cls()

    @classmethod
    def lite(cls) -> PyramidalGANConfig:
        """Every block type (MEN, both stages, DPC, attention, AFM) at fewer channels and two DPC
        layers per stage: one GAN step (generator and a width-32 SN-PatchGAN critic, Adam) of batch
        8 x 128 px costs 2.8-2.9 CPU seconds on two threads, about 1.5 s when both cores are free
        (3.1-3.3 CPU seconds with the letter's width-64 critic)."""
        return cls(width=12, men_width=8, dpc_layers=2)


class DilatedPyramidalConv(nn.Module):
    """Parallel 3x3 :class:`GatedConv` branches at dilations 1, 2, 4, 8 (receptive fields 3 to 17
    cells), each giving ``channels / 4`` channels, concatenated back to ``channels``."""

    def __init__(self, channels: int, dilations: tuple[int, ...] = DPC_DILATIONS) -> None:
        super().__init__()
        if channels % len(dilations):
            raise ValueError(f"{channels} channels do not split into {len(dilations)} branches")
        share = channels // len(dilations)
        self.branches = nn.ModuleList(GatedConv(channels, share, 3, dilation=d) for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class AttentionFusion(nn.Module):
    """A learned per-pixel, per-channel gate between the attention branch ``a`` and the convolution
    branch ``c``: ``g * a + (1 - g) * c`` with ``g = sigmoid(conv1x1([a, c]))``, starting at 0.5."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gate = nn.Conv2d(2 * channels, channels, 1)
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)

    def weights(self, attention: torch.Tensor, conv: torch.Tensor) -> torch.Tensor:
        """The gate ``g`` in (0, 1): the share taken from the attention branch."""
        return torch.sigmoid(self.gate(torch.cat([attention, conv], dim=1)))

    def forward(self, attention: torch.Tensor, conv: torch.Tensor) -> torch.Tensor:
        g = self.weights(attention, conv)
        return conv + g * (attention - conv)


class FusionRefineNet(nn.Module):
    """UIN's stage 2: the GRSL refine encoder, then in parallel a DPC convolution branch and a
    :class:`SelfAttention` branch, fused by :class:`AttentionFusion`, and the GRSL decoder."""

    def __init__(self, cin: int, cout: int, width: int, dpc_layers: int) -> None:
        super().__init__()
        self.encoder = RefineEncoder(cin, width)
        self.context = nn.Sequential(*(DilatedPyramidalConv(4 * width) for _ in range(dpc_layers)))
        self.attention = SelfAttention(4 * width)
        self.fusion = AttentionFusion(4 * width)
        self.decoder = GatedDecoder(width, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.encoder(x)
        return self.decoder(self.fusion(self.attention(features), self.context(features)))


#: Side of the moving window of the reference's local linear histogram match (:func:`prior_fill`),
#: and the least share of it that must be valid in both dates.
LLHM_WINDOW = 31
LLHM_MIN_SHARE = 0.03


def _box_mean(t: torch.Tensor, size: int = LLHM_WINDOW) -> torch.Tensor:
    """Separable ``size`` x ``size`` moving mean (zero padding counted: only ratios are used)."""
    half = size // 2
    t = F.avg_pool2d(t, (1, size), stride=1, padding=(0, half))
    return F.avg_pool2d(t, (size, 1), stride=1, padding=(half, 0))


def prior_fill(image: torch.Tensor, mask: torch.Tensor, reference: torch.Tensor,
               present: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """A parameter-free estimate of ``image`` where ``mask`` is 1 (no gradient flows through it).

    Where the reference date is valid (``present``) and enough of the window is valid in both dates:
    the USGS local linear histogram match, ``mean_t + std_t / std_r * (reference - mean_r)`` over a
    31 px window; elsewhere push-pull interpolation (:func:`training.model.push_pull_fill`).
    """
    from ..model import push_pull_fill

    image, mask, reference, present = (t.detach() for t in (image, mask, reference, present))
    spatial = push_pull_fill(image * (1.0 - mask), 1.0 - mask)
    both = (1.0 - mask) * present
    share = _box_mean(both)
    n = share.clamp_min(1e-6)
    mean_t, mean_r = _box_mean(both * image) / n, _box_mean(both * reference) / n
    var_t = (_box_mean(both * image * image) / n - mean_t**2).clamp_min(0.0)
    var_r = (_box_mean(both * reference * reference) / n - mean_r**2).clamp_min(0.0)
    matched = mean_t + torch.sqrt(var_t / (var_r + 1e-4)) * (reference - mean_r)
    usable = present * (share >= LLHM_MIN_SHARE).to(image.dtype)
    return usable * matched + (1.0 - usable) * spatial


class UIN(nn.Module):
    """The inpainting network: a coarse stage (:class:`CoarseNet` with DPC context) and a
    :class:`FusionRefineNet`, each fed ``[image, guidance, mask, ones]`` as in GRSL.

    With ``prefill`` the holes of the coarse stage's image hold :func:`prior_fill` instead of zeros
    and each stage adds its output to its input image (a correction, zero at initialisation)."""

    def __init__(self, cin: int, cout: int, width: int, dpc_layers: int, prefill: bool = False) -> None:
        super().__init__()
        context = nn.Sequential(*(DilatedPyramidalConv(4 * width) for _ in range(dpc_layers)))
        self.coarse = CoarseNet(cin, cout, width, context=context)
        self.refine = FusionRefineNet(cin, cout, width, dpc_layers)
        self.prefill = prefill
        if prefill:  # the last gated convolution's batch norm: each stage starts as the identity
            for decoder in (self.coarse.decoder, self.refine.decoder):
                nn.init.zeros_(decoder[-1].norm.weight)

    def forward(self, image: torch.Tensor, mask: torch.Tensor, guidance: torch.Tensor,
                start: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """``(coarse, refined)``; ``refined`` keeps ``image`` where ``mask`` is 0. ``start`` is the
        prior estimate of the holes (``prefill`` only)."""
        ones = torch.ones_like(mask)
        masked = image * (1.0 - mask)
        first = masked if start is None else masked + start * mask
        coarse = self.coarse(torch.cat([first, guidance, mask, ones], dim=1))
        coarse = (coarse + first if self.prefill else coarse).clamp(-1.0, 1.0)
        composite = masked + coarse * mask
        refined = self.refine(torch.cat([composite, guidance, mask, ones], dim=1))
        refined = (refined + composite if self.prefill else refined).clamp(-1.0, 1.0)
        return coarse, masked + refined * mask


class MaskEstimationNet(nn.Module):
    """MEN: the image alone -> a soft mask in [0, 1] (1 = missing or corrupted).

    Gated encoder at H (5x5, ``m``), H/2 (``2m``) and H/4 (``4m``, dilations 2 and 4 for long
    stripes), gated up-sampling with skip concatenations back to H, a 3x3 head and a sigmoid.
    """

    def __init__(self, cin: int, width: int) -> None:
        super().__init__()
        m = width
        self.enc1 = GatedConv(cin, m, 5)
        self.enc2 = nn.Sequential(GatedConv(m, 2 * m, 4, 2), GatedConv(2 * m, 2 * m))
        self.enc3 = nn.Sequential(GatedConv(2 * m, 4 * m, 4, 2), GatedConv(4 * m, 4 * m, dilation=2),
                                  GatedConv(4 * m, 4 * m, dilation=4))  # fmt: skip
        self.up2 = GatedDeconv(4 * m, 2 * m)
        self.dec2 = GatedConv(4 * m, 2 * m)
        self.up1 = GatedDeconv(2 * m, m)
        self.dec1 = GatedConv(2 * m, m)
        self.head = nn.Conv2d(m, 1, 3, padding=1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(image)
        e2 = self.enc2(e1)
        d2 = self.dec2(torch.cat([self.up2(self.enc3(e2)), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return torch.sigmoid(self.head(d1))


class PyramidalGAN(nn.Module):
    """MEN + UIN (see the module docstring): ``x`` -> ``(coarse, refined, soft_mask)``."""

    #: Returns its stages and composites itself (``training.model.RestorationModel``).
    staged = True

    def __init__(self, config: PyramidalGANConfig) -> None:
        super().__init__()
        self.config = config
        bands, extra = config.out_channels, config.in_channels - config.out_channels
        if extra not in (0, 2, bands + 3):
            raise ValueError(
                f"the pyramidal GAN takes {bands} image bands, + mask and mask flag ({bands + 2}), "
                f"+ a {bands}-band reference and its flag ({2 * bands + 3}); got in_channels="
                f"{config.in_channels}"
            )
        self.has_mask, self.has_reference = extra > 0, extra == bands + 3
        self.men = MaskEstimationNet(bands, config.men_width)
        # Stage inputs: image, reference, reference flag, mask, ones.
        self.uin = UIN(2 * bands + 3, bands, config.width, config.dpc_layers, config.prefill)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        height, width = x.shape[-2:]
        x = pad_to_multiple(x, MULTIPLE)
        bands = self.config.out_channels
        image = x[:, :bands]
        soft = self.men(image)
        mask = soft
        if self.has_mask:
            hard, flag = x[:, bands : bands + 1], x[:, bands + 1 : bands + 2]
            mask = flag * hard + (1.0 - flag) * soft
        if self.has_reference:
            present = x[:, -1:]
            reference = x[:, bands + 2 : 2 * bands + 2] * present
        else:
            present = torch.zeros_like(soft)
            reference = torch.zeros_like(image)
        start = prior_fill(image, mask, reference, present) if self.config.prefill else None
        coarse, refined = self.uin(image, mask, torch.cat([reference, present], dim=1), start)
        crop = (..., slice(0, height), slice(0, width))
        return coarse[crop], refined[crop], soft[crop]


def mask_estimation_loss(soft_mask: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of MEN's soft mask against the simulated mask, computed in float32 from
    probabilities (safe under autocast, where ``F.binary_cross_entropy`` refuses to run)."""
    p, t = soft_mask.float().clamp(1e-6, 1.0 - 1e-6), target.float()
    return -(t * p.log() + (1.0 - t) * (1.0 - p).log()).mean()
