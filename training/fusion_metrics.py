"""Image-fusion metrics: how much of two source images (visible ``a``, infrared ``b``) a fused image
``f`` keeps. Written from their definitions, as the fusion literature computes them (the
``analysis_Reference`` MATLAB toolbox that NiteDR, RFN-Nest and others report with): grey images in
[0, 1] (2-D arrays; an RGB image enters as its BT.601 luminance, ``grey``), each metric between
``f`` and each source, combined over the two sources as the toolbox does.

* **PSNR** (fusion toolbox): ``20 log10(255 / sqrt(MSE))`` with ``MSE`` the mean of the two sources'
  mean squared errors on [0, 1] images. Not a restoration PSNR: the 255 against [0, 1] errors puts
  it near 60 dB (NiteDR reports 64.71).
* **SSIM**, **MS-SSIM**: the mean over the two sources (Gaussian 11x11, sigma 1.5, ``training.losses``).
* **MI**: ``MI(a, f) + MI(b, f)``, from 256-bin joint histograms of the 8-bit images, in bits.
* **VIF**: ``VIFp(a, f) + VIFp(b, f)``, Sheikh and Bovik's pixel-domain visual information fidelity
  (4 scales, Gaussian windows, noise variance 2 on [0, 255]), the source as the reference.
* **CC**: the mean of the two Pearson correlation coefficients.
* **Qabf**: Xydeas and Petrovic's edge preservation: Sobel edge strength and orientation of each
  source kept in ``f``, weighted by the source's edge strength (constants of the original paper).
* **FMI_pixel**: Haghighat's fast feature mutual information on the pixels themselves: in every
  3x3 window the source and fused windows are read as distributions, their joint distribution is
  built from their correlation (Nelsen's mixture of the Frechet bounds and independence), and the
  window's mutual information, normalised by the two entropies, is averaged over windows and sources.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .metrics import ssim

EPS = np.finfo(np.float64).eps


def grey(image: np.ndarray) -> np.ndarray:
    """A (H, W) grey image from (H, W), (1, H, W) or (3, H, W) RGB (BT.601 luminance)."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        return image
    if image.shape[0] == 1:
        return image[0]
    return 0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]


def fusion_psnr(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    mse = 0.5 * (np.mean((a - f) ** 2) + np.mean((b - f) ** 2))
    return float("inf") if mse == 0 else float(20.0 * np.log10(255.0 / np.sqrt(mse)))


def fusion_ssim(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    return 0.5 * (ssim(f[None], a[None]) + ssim(f[None], b[None]))


def fusion_ms_ssim(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    import torch

    from .losses import ms_ssim

    def one(x: np.ndarray, y: np.ndarray) -> float:
        with torch.no_grad():
            return float(ms_ssim(torch.from_numpy(x[None, None].astype(np.float32)),
                                 torch.from_numpy(y[None, None].astype(np.float32))))  # fmt: skip

    return 0.5 * (one(f, a) + one(f, b))


def _bytes(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.int64)


def mutual_information(x: np.ndarray, y: np.ndarray) -> float:
    """MI in bits of two [0, 1] images quantised to 8 bits (256 x 256 joint histogram)."""
    joint = np.bincount((_bytes(x) * 256 + _bytes(y)).ravel(), minlength=256 * 256).reshape(256, 256)
    p = joint / joint.sum()
    px, py = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 0
    return float((p[nz] * np.log2(p[nz] / (px @ py)[nz])).sum())


def fusion_mi(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    return mutual_information(a, f) + mutual_information(b, f)


def _gaussian(n: int, sigma: float) -> np.ndarray:
    x = np.arange(n) - (n - 1) / 2
    g = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def _valid(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    """``filter2(window, image, 'valid')``."""
    from scipy.signal import correlate2d

    return correlate2d(image, window, mode="valid")


def vifp(reference: np.ndarray, distorted: np.ndarray, sigma_nsq: float = 2.0) -> float:
    """Pixel-domain VIF (Sheikh and Bovik 2006, ``vifp_mscale``) of [0, 1] images, on [0, 255]."""
    ref, dist = reference * 255.0, distorted * 255.0
    num = den = 0.0
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        window = _gaussian(n, n / 5.0)
        if scale > 1:
            ref, dist = _valid(ref, window)[::2, ::2], _valid(dist, window)[::2, ::2]
        mu1, mu2 = _valid(ref, window), _valid(dist, window)
        s1 = np.maximum(_valid(ref * ref, window) - mu1**2, 0.0)
        s2 = np.maximum(_valid(dist * dist, window) - mu2**2, 0.0)
        s12 = _valid(ref * dist, window) - mu1 * mu2
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        flat1 = s1 < 1e-10
        g[flat1], sv[flat1], s1[flat1] = 0.0, s2[flat1], 0.0
        flat2 = s2 < 1e-10
        g[flat2], sv[flat2] = 0.0, 0.0
        negative = g < 0
        sv[negative], g[negative] = s2[negative], 0.0
        sv = np.maximum(sv, 1e-10)
        num += np.log10(1.0 + g**2 * s1 / (sv + sigma_nsq)).sum()
        den += np.log10(1.0 + s1 / sigma_nsq).sum()
    return float(num / den) if den > 0 else 1.0


def fusion_vif(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    return vifp(a, f) + vifp(b, f)


def fusion_cc(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    def cc(x: np.ndarray, y: np.ndarray) -> float:
        x, y = x - x.mean(), y - y.mean()
        return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum() + EPS))

    return 0.5 * (cc(a, f) + cc(b, f))


#: Xydeas and Petrovic (2000): sigmoid constants of edge strength and orientation preservation.
QABF_G = (0.9994, -15.0, 0.5)
QABF_A = (0.9879, -22.0, 0.8)


def _sobel(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sx, sy = ndimage.sobel(x, axis=1, mode="nearest"), ndimage.sobel(x, axis=0, mode="nearest")
    strength = np.hypot(sx, sy)
    angle = np.where(sx == 0, np.pi / 2, np.arctan(sy / np.where(sx == 0, 1.0, sx)))
    return strength, angle


def qabf(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    gf, af = _sobel(f)

    def kept(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gx, ax = _sobel(x)
        ratio = np.where(gx > gf, gf / np.maximum(gx, EPS), np.where(gx == gf, 1.0, gx / np.maximum(gf, EPS)))
        orient = 1.0 - np.abs(ax - af) / (np.pi / 2)
        tg, kg, dg = QABF_G
        ta, ka, da = QABF_A
        q = tg / (1 + np.exp(kg * (ratio - dg))) * ta / (1 + np.exp(ka * (orient - da)))
        return q, gx

    qa, wa = kept(a)
    qb, wb = kept(b)
    total = (wa + wb).sum()
    return float((qa * wa + qb * wb).sum() / total) if total > 0 else 1.0


def _windows(x: np.ndarray, size: int) -> np.ndarray:
    """Every ``size`` x ``size`` window of ``x`` flattened in column order: (N, size * size)."""
    view = np.lib.stride_tricks.sliding_window_view(x, (size, size))
    return np.swapaxes(view, -1, -2).reshape(-1, size * size)


def _window_fmi(x: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Normalised mutual information of each pair of windows (rows of ``x`` and ``f``)."""
    out = np.ones(len(x))
    differ = ~np.all(x == f, axis=1)
    x, f = x[differ], f[differ]

    def pdf(w: np.ndarray) -> np.ndarray:
        low, span = w.min(1, keepdims=True), np.ptp(w, axis=1, keepdims=True)
        w = np.where(span > 0, (w - low) / np.where(span > 0, span, 1.0), 1.0)
        return w / w.sum(1, keepdims=True)

    px, pf = pdf(x), pdf(f)
    hx = -(px * np.log2(px + EPS)).sum(1)
    hf = -(pf * np.log2(pf + EPS)).sum(1)
    xc, fc = px - px.mean(1, keepdims=True), pf - pf.mean(1, keepdims=True)
    denom = np.sqrt((xc**2).sum(1) * (fc**2).sum(1))
    corr = np.where(denom > 0, (xc * fc).sum(1) / np.where(denom > 0, denom, 1.0), 0.0)
    cx, cf = np.cumsum(px, 1)[:, :, None], np.cumsum(pf, 1)[:, None, :]
    independent = cx * cf
    upper, lower = np.minimum(cx, cf), np.maximum(cx + cf - 1.0, 0.0)
    c = corr[:, None, None]
    joint_cdf = np.where(c >= 0, c * upper + (1 - c) * independent, -c * lower + (1 + c) * independent)
    padded = np.pad(joint_cdf, ((0, 0), (1, 0), (1, 0)))
    joint = padded[:, 1:, 1:] - padded[:, :-1, 1:] - padded[:, 1:, :-1] + padded[:, :-1, :-1]
    joint = np.clip(joint, 0, None)
    hxf = -(joint * np.log2(joint + EPS)).sum((1, 2))
    mi = hx + hf - hxf
    total = hx + hf
    out[differ] = np.where(total > 0, 2.0 * mi / np.where(total > 0, total, 1.0), 1.0)
    return out


def fmi_pixel(a: np.ndarray, b: np.ndarray, f: np.ndarray, window: int = 3) -> float:
    wa, wb, wf = (_windows(x, window) for x in (a, b, f))
    return float(0.5 * (_window_fmi(wa, wf).mean() + _window_fmi(wb, wf).mean()))


FUSION_METRICS = {
    "psnr": fusion_psnr, "ssim": fusion_ssim, "ms_ssim": fusion_ms_ssim, "mi": fusion_mi,
    "vif": fusion_vif, "cc": fusion_cc, "fmi_pixel": fmi_pixel, "qabf": qabf,
}  # fmt: skip


def fusion_scores(visible: np.ndarray, infrared: np.ndarray, fused: np.ndarray) -> dict[str, float]:
    """Every metric of ``FUSION_METRICS`` for one fused image and its two sources (any of
    (H, W), (1, H, W), (3, H, W) in [0, 1]; RGB as luminance)."""
    a, b, f = (np.clip(grey(x), 0.0, 1.0) for x in (visible, infrared, fused))
    return {name: float(fn(a, b, f)) for name, fn in FUSION_METRICS.items()}
