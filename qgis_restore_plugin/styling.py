"""Open the restored raster with the same band rendering as its input (GUI runs only).

The input's renderer is cloned in ``prepareAlgorithm`` (main thread) and applied by a layer
post-processor when Processing loads the output. When only some bands were restored, band numbers
are renumbered to the output's (output band ``j`` is input band ``bands[j-1]``).
"""

from __future__ import annotations

from collections.abc import Sequence

from qgis.core import (
    QgsMultiBandColorRenderer,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProcessingLayerPostProcessorInterface,
    QgsRasterLayer,
    QgsRasterRenderer,
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
            layer.triggerRepaint()

    @staticmethod
    def create(renderer: QgsRasterRenderer) -> RendererCopier:
        RendererCopier._instance = RendererCopier(renderer)
        return RendererCopier._instance
