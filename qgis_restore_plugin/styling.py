"""Open the restored raster with the input's band choice and its own contrast stretch (GUI runs only).

The input's renderer is cloned in ``prepareAlgorithm`` (main thread) and applied by a layer
post-processor when Processing loads the output. When only some bands were restored, band numbers
are renumbered to the output's (output band ``j`` is input band ``bands[j-1]``). The stretch is
then recomputed from the output's own statistics (cumulative cut 2-98 %, QGIS's default for
multiband images): restored values differ from the input's (dehazed values sit lower), and the
input's stretch made the first result look almost black.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from qgis.core import (
    QgsContrastEnhancement,
    QgsMultiBandColorRenderer,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingLayerPostProcessorInterface,
    QgsRasterLayer,
    QgsRasterMinMaxOrigin,
    QgsRasterRenderer,
    QgsRectangle,
    QgsSingleBandGrayRenderer,
    QgsSingleBandPseudoColorRenderer,
)


def renumbered_renderer(
    renderer: QgsRasterRenderer, bands: Sequence[int] | None
) -> QgsRasterRenderer | None:
    """A clone of ``renderer`` for an output holding input bands ``bands`` (``None``: all, same order).

    Returns ``None`` when the renderer uses a band that was not restored, or a renderer type whose
    bands cannot be renumbered: the output then keeps QGIS's default rendering.
    """
    clone = renderer.clone()
    if not bands:
        return clone
    mapping = {band: index + 1 for index, band in enumerate(bands)}
    used = [b for b in clone.usesBands() if b > 0]
    if any(b not in mapping for b in used):
        return None
    if isinstance(clone, QgsMultiBandColorRenderer):
        for getter, setter in (
            (clone.redBand, clone.setRedBand),
            (clone.greenBand, clone.setGreenBand),
            (clone.blueBand, clone.setBlueBand),
        ):
            if getter() > 0:
                setter(mapping[getter()])
        return clone
    if isinstance(clone, QgsSingleBandGrayRenderer):
        clone.setGrayBand(mapping[clone.grayBand()])
        return clone
    if isinstance(clone, QgsSingleBandPseudoColorRenderer):
        clone.setBand(mapping[clone.band()])
        return clone
    return clone if all(mapping[b] == b for b in used) else None


class RendererCopier(QgsProcessingLayerPostProcessorInterface):
    """Applies a renderer to the output layer once Processing has loaded it."""

    #: Processing does not own post-processors: keep the latest alive (the documented QGIS pattern).
    _instance: RendererCopier | None = None

    def __init__(self, renderer: QgsRasterRenderer) -> None:
        super().__init__()
        self._renderer = renderer

    def postProcessLayer(
        self, layer: QgsRasterLayer, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> None:
        if isinstance(layer, QgsRasterLayer) and layer.isValid():
            layer.setRenderer(self._renderer.clone())
            own_stretch(layer)
            layer.triggerRepaint()

    @staticmethod
    def create(renderer: QgsRasterRenderer) -> RendererCopier:
        RendererCopier._instance = RendererCopier(renderer)
        return RendererCopier._instance


#: The share of pixels clipped at each end by the stretch (QGIS's default cumulative cut).
CUT_LOWER, CUT_UPPER = 0.02, 0.98


@contextmanager
def no_gdal_sidecars() -> Iterator[None]:
    """In this thread, GDAL keeps statistics in memory instead of ``.aux.xml`` files (PAM off), so
    nothing is written beside the user's inputs or our outputs."""
    try:
        from osgeo import gdal
    except ImportError:  # GDAL's Python bindings missing: dependencies.check reports it
        yield
        return
    previous = gdal.GetThreadLocalConfigOption("GDAL_PAM_ENABLED", None)
    gdal.SetThreadLocalConfigOption("GDAL_PAM_ENABLED", "NO")
    try:
        yield
    finally:
        gdal.SetThreadLocalConfigOption("GDAL_PAM_ENABLED", previous)


def own_stretch(layer: QgsRasterLayer) -> None:
    """Stretch ``layer``'s current gray or RGB renderer to its own data (cumulative cut 2-98 %).

    Pseudo-colour and other renderers keep their classes (their values mean something).
    """
    if not isinstance(layer.renderer(), (QgsMultiBandColorRenderer, QgsSingleBandGrayRenderer)):
        return
    origin = QgsRasterMinMaxOrigin()
    origin.setLimits(QgsRasterMinMaxOrigin.CumulativeCut)
    origin.setCumulativeCutLower(CUT_LOWER)
    origin.setCumulativeCutUpper(CUT_UPPER)
    with no_gdal_sidecars():
        layer.setContrastEnhancement(QgsContrastEnhancement.StretchToMinimumMaximum,
                                     QgsRasterMinMaxOrigin.CumulativeCut, QgsRectangle(),
                                     int(QgsRasterLayer.SAMPLE_SIZE))
    renderer = layer.renderer()
    if hasattr(renderer, "setMinMaxOrigin"):
        renderer.setMinMaxOrigin(origin)


class OwnStretch(QgsProcessingLayerPostProcessorInterface):
    """Stretches the loaded output to its own statistics (used when the input's renderer is unknown)."""

    _instance: OwnStretch | None = None

    def postProcessLayer(
        self, layer: QgsRasterLayer, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> None:
        if isinstance(layer, QgsRasterLayer) and layer.isValid():
            own_stretch(layer)
            layer.triggerRepaint()

    @staticmethod
    def create() -> OwnStretch:
        OwnStretch._instance = OwnStretch()
        return OwnStretch._instance
