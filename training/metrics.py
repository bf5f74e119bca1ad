"""Image-quality metrics on arrays in a known value range: PSNR, SSIM, SAM, colour cast, crushing.

PSNR is ``10 log10(R^2 / MSE)`` over all pixels and bands; SSIM is the Gaussian-window SSIM of
``training.losses.ssim`` (11x11, sigma 1.5, mean over bands); SAM is the mean spectral angle in
degrees between per-pixel band vectors; the colour cast is the angle between the two images' mean
band vectors (a global tint, which SAM mixes with per-pixel noise); ``lab_cast`` is a no-reference
cast, the distance of an RGB image's mean CIELAB chroma from neutral; the crushed share counts pixels
clipped to black. Pixels flagged invalid are left out of PSNR, SAM, the cast and the crushed share.
``best_affine`` is no metric but an oracle for analysis: it splits an error into its global level
per band and the rest.
"""

from __future__ import annotations

import numpy as np
import torch

from .losses import ssim as _ssim_torch


def psnr(
    pred: np.ndarray, target: np.ndarray, data_range: float = 1.0, valid: np.ndarray | None = None
) -> float:
    """PSNR in dB of (C, H, W) arrays; ``valid`` (H, W) restricts the pixels."""
    diff = (pred.astype(np.float64) - target.astype(np.float64)) ** 2
    mse = diff[:, valid].mean() if valid is not None else diff.mean()
    return float("inf") if mse == 0 else float(10.0 * np.log10(data_range**2 / mse))


def ssim(pred: np.ndarray, target: np.ndarray, data_range: float = 1.0) -> float:
    """SSIM of (C, H, W) arrays (the same function the SSIM loss uses)."""
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(pred, dtype=np.float32))[None]
        y = torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32))[None]
        return float(_ssim_torch(x, y, data_range=data_range))


def ssim_on(pred: np.ndarray, target: np.ndarray, valid: np.ndarray, data_range: float = 1.0) -> float:
    """Mean of the SSIM map (Gaussian sigma 1.5, 11 px window, band mean) over the ``valid`` (H, W)
    pixels only: the structure of reconstructed gaps, not of the untouched pixels around them."""
    from scipy import ndimage

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    maps = []
    for p, t in zip(pred.astype(np.float64), target.astype(np.float64), strict=True):
        def filt(a: np.ndarray) -> np.ndarray:
            return ndimage.gaussian_filter(a, 1.5, truncate=5 / 1.5, mode="reflect")

        mu_p, mu_t = filt(p), filt(t)
        spp, stt, spt = filt(p * p) - mu_p**2, filt(t * t) - mu_t**2, filt(p * t) - mu_p * mu_t
        maps.append((2 * mu_p * mu_t + c1) * (2 * spt + c2) / ((mu_p**2 + mu_t**2 + c1) * (spp + stt + c2)))
    return float(np.mean(maps, axis=0)[valid].mean()) if valid.any() else float("nan")


def sam(pred: np.ndarray, target: np.ndarray, valid: np.ndarray | None = None, eps: float = 1e-8) -> float:
    """Mean spectral angle (degrees) between the band vectors of each pixel."""
    p = pred.reshape(pred.shape[0], -1).astype(np.float64)
    t = target.reshape(target.shape[0], -1).astype(np.float64)
    cos = (p * t).sum(0) / (np.linalg.norm(p, axis=0) * np.linalg.norm(t, axis=0) + eps)
    angles = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    if valid is not None:
        angles = angles[valid.reshape(-1)]
    return float(angles.mean())


def colour_cast(pred: np.ndarray, target: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Angle (degrees) between the mean colours of two (C, H, W) images: 0 for no global tint.

    Blind to brightness and contrast (a haze-free result may be darker or brighter than the
    reference), it sees only how the bands' means move against each other: a colour cast.
    """
    p = pred.reshape(pred.shape[0], -1).astype(np.float64)
    t = target.reshape(target.shape[0], -1).astype(np.float64)
    if valid is not None:
        p, t = p[:, valid.reshape(-1)], t[:, valid.reshape(-1)]
    mp, mt = p.mean(1), t.mean(1)
    cos = mp @ mt / max(np.linalg.norm(mp) * np.linalg.norm(mt), 1e-12)
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(3, H, W) sRGB in [0, 1] -> CIELAB (3, H, W) under D65 (L in 0-100, a*/b* about -128..127)."""
    c = np.clip(rgb.astype(np.float64), 0.0, 1.0)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    matrix = np.array([[0.4124564, 0.3575761, 0.1804375],
                       [0.2126729, 0.7151522, 0.0721750],
                       [0.0193339, 0.1191920, 0.9503041]])  # fmt: skip
    xyz = np.tensordot(matrix, linear, axes=1) / np.array([0.95047, 1.0, 1.08883])[:, None, None]
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def lab_cast(rgb: np.ndarray) -> float:
    """No-reference colour cast of a (3, H, W) sRGB image in [0, 1]: ``hypot(mean a*, mean b*)``.

    0 for an image whose colours balance to grey; a sand-dust photo (orange-yellow) scores high
    through its positive b* and a*. Natural scenes are not exactly neutral, so compare methods on the
    same images rather than reading the value alone.
    """
    lab = srgb_to_lab(rgb)
    return float(np.hypot(lab[1].mean(), lab[2].mean()))


def crushed_share(image: np.ndarray, black: float, valid: np.ndarray | None = None) -> float:
    """Share of pixels of a (C, H, W) image with a band at or below ``black``: shadows clipped to black.

    A dehazer that subtracts more haze than there was pushes dark ground (water, shadow, dense
    vegetation) below zero, where the output clips it: its texture is gone. Real ground is hardly
    ever that dark, so the share needs no reference; compare it with the input's.
    """
    crushed = (image <= black).any(axis=0)
    return float(crushed[valid].mean() if valid is not None else crushed.mean())


def best_affine(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``pred`` (C, H, W) mapped band by band by the gain and offset that fit ``target`` best (least
    squares).

    An oracle, for analysis only: it knows the reference. What a method scores after it is what it
    would score if only its global level in each band were right (how much haze was taken off, how
    much contrast given back); the error left is local (structure, haze that varies in space).
    """
    out = np.empty(pred.shape, dtype=np.float64)
    for b, (p, t) in enumerate(zip(pred.astype(np.float64), target.astype(np.float64), strict=True)):
        design = np.stack([p.ravel(), np.ones(p.size)], axis=1)
        (gain, offset), *_ = np.linalg.lstsq(design, t.ravel(), rcond=None)
        out[b] = gain * p + offset
    return out.astype(pred.dtype, copy=False)
