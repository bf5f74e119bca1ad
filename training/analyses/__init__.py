"""``python -m training analyze NAME [ARGS]``: one-off measurements behind statements in the docs.

Each analysis is a module with ``main(argv) -> int`` that parses its own arguments; ``ANALYSES``
maps its name to that function and a one-line help.
"""

from __future__ import annotations

from collections.abc import Callable

from . import airlight, headroom, precise_bn, tile_invariance

ANALYSES: dict[str, tuple[Callable[[list[str] | None], int], str]] = {
    "tile_invariance": (tile_invariance.main, "tiled vs single-tile dehaze output on two real crops"),
    "headroom": (headroom.main, "a dehazer's error split into global level per band and local structure"),
    "airlight": (airlight.main, "the dark channel prior's airlight estimate vs the truth on training crops"),
    "precise_bn": (precise_bn.main, "a checkpoint's validation PSNR with recomputed batch-norm statistics"),
}
