"""The shared restoration algorithm: parameters -> one ``backend.pipeline.restore`` call.

Subclasses only name their task and describe it. The raster inputs each task takes (and whether they
are optional) come from ``backend.tasks``; this class maps them to parameters, builds the backend's
``RestoreJob`` (pure, unit-tested), runs it with Processing's progress and cancel, turns backend
errors into ``QgsProcessingException`` and asks for the output to be styled like the input.
"""

from __future__ import annotations

import json
import traceback
from typing import TYPE_CHECKING, Any

from qgis.core import (
    QgsCoordinateTransform,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterBand,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingUtils,
    QgsRasterLayer,
)
from qgis.PyQt.QtCore import QCoreApplication

from .. import _backend, dependencies, help_text, model_picker
from .._compat import ADVANCED, DOUBLE, INTEGER
from ..styling import OwnStretch, RendererCopier, no_gdal_sidecars, renumbered_renderer

if TYPE_CHECKING:
    from backend.errors import RestoreError
    from backend.job import RestoreJob

#: Values of the DEVICE enum, in order (the backend's device names).
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "tensorrt")

#: Parameter name of each input role, unless a task overrides it (derain_fuse: VISIBLE).
ROLE_PARAMETERS: dict[str, str] = {"optical": "INPUT", "infrared": "INFRARED", "sar": "SAR", "mask": "MASK",
                                   "reference": "REFERENCE"}
ROLE_DESCRIPTIONS: dict[str, str] = {
    "optical": "Input raster",
    "infrared": "Infrared raster (same grid as the visible one)",
    "sar": "SAR raster (same grid as the input)",
    "mask": "Mask of the pixels to fill (non-zero = missing)",
    "reference": "Reference raster: the same place on another date, same bands (optional)",
}


#: The parameter (or, for resampling, the QGIS tool) that sets each ``RestoreJob`` option a backend
#: error names in its ``options``; the CLI shows its flags for the same names.
OPTION_PARAMETERS: dict[str, str] = {
    "model": "MODEL",
    "device": "DEVICE",
    "tile_size": "TILE_SIZE",
    "overlap": "OVERLAP",
    "batch_size": "BATCH_SIZE",
    "bands": "BANDS",
    "mask_output": "MASK_OUTPUT",
    "stage_outputs": "DERAINED",
    "strength": "STRENGTH",
    "black_level": "BLACK_LEVEL",
    "allow_large": "ALLOW_LARGE",
    "extent": "EXTENT",
    "region": "MASK_LAYER",
    "resample": "Raster > Projections > Warp",
}


def user_message(error: RestoreError) -> str:
    """A backend error's message followed by the parameters it asks to change."""
    return _backend.errors.describe(error, OPTION_PARAMETERS)


class RestoreAlgorithmBase(QgsProcessingAlgorithm):
    """One restoration task as a Processing algorithm."""

    BANDS = "BANDS"
    MODEL = "MODEL"
    DEVICE = "DEVICE"
    TILE_SIZE = "TILE_SIZE"
    OVERLAP = "OVERLAP"
    BATCH_SIZE = "BATCH_SIZE"
    STRENGTH = "STRENGTH"
    BLACK_LEVEL = "BLACK_LEVEL"
    EXTENT = "EXTENT"
    MASK_LAYER = "MASK_LAYER"
    ALLOW_LARGE = "ALLOW_LARGE"
    OUTPUT = "OUTPUT"

    #: The ``backend.tasks`` id; also the algorithm's name (``restore:<TASK>``).
    TASK = ""
    #: Help: what the algorithm does, and which input it expects.
    WHAT = ""
    INPUTS = ""
    #: Role -> parameter name and description overrides for this task.
    PARAMETER_NAMES: dict[str, str] = {}
    PARAMETER_DESCRIPTIONS: dict[str, str] = {}
    #: Words the Processing Toolbox search finds the algorithm by (it searches tags too).
    TAGS: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self._renderer = None
        self._output_path = ""
        self._bands: list[int] | None = None

    # -- identity ------------------------------------------------------------------------------
    def name(self) -> str:
        return self.TASK

    def displayName(self) -> str:
        return self.tr(_backend.tasks.get_task(self.TASK).title)

    def group(self) -> str:
        return self.tr("Restoration")

    def groupId(self) -> str:
        return "restoration"

    def shortHelpString(self) -> str:
        return help_text.algorithm_help(self.TASK, self.WHAT, self.INPUTS, strength=self.takes_strength(),
                                        black_level=self.takes_black_level())

    def tags(self) -> list[str]:
        common = ["restoration", "deep learning", "onnx", "satellite", "remote sensing", "imagery"]
        return [*common, self.TASK, *self.TAGS]

    def helpUrl(self) -> str:
        """The plugin's documentation page, shipped inside the plugin (the help panel's Help button)."""
        page = help_text.doc_path("PLUGIN.md")
        return page.as_uri() if page.is_file() else ""

    def createInstance(self) -> RestoreAlgorithmBase:
        return type(self)()

    def tr(self, text: str) -> str:
        return QCoreApplication.translate("RestoreAlgorithm", text)

    # -- parameters ----------------------------------------------------------------------------
    def raster_parameters(self) -> list[tuple[str, str, bool]]:
        """``(parameter name, role, optional)`` of each raster input of the task, in task order."""
        task = _backend.tasks.get_task(self.TASK)
        return [
            (self.PARAMETER_NAMES.get(slot.role, ROLE_PARAMETERS[slot.role]), slot.role, not slot.required)
            for slot in task.inputs
        ]

    def takes_strength(self) -> bool:
        """Whether the task blends its result with the input by a STRENGTH (``backend.tasks``)."""
        return _backend.tasks.get_task(self.TASK).takes_strength

    def takes_black_level(self) -> bool:
        """Whether the task's models take a sensor's black level off first (``backend.tasks``)."""
        return _backend.tasks.get_task(self.TASK).takes_black_level

    def optical_parameter(self) -> str:
        return next(name for name, role, _ in self.raster_parameters() if role == "optical")

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        for name, role, optional in self.raster_parameters():
            description = self.PARAMETER_DESCRIPTIONS.get(role, ROLE_DESCRIPTIONS[role])
            self.addParameter(
                QgsProcessingParameterRasterLayer(name, self.tr(description), optional=optional)
            )
        self.addParameter(
            QgsProcessingParameterBand(
                self.BANDS,
                self.tr("Bands to restore, in the model's order (empty: all)"),
                parentLayerParameterName=self.optical_parameter(),
                optional=True,
                allowMultiple=True,
            )
        )
        model = QgsProcessingParameterString(
            self.MODEL, self.tr("Model (an installed model's name or an .onnx file; empty: the default)"),
            defaultValue="", optional=True,
        )
        # Still a string (MODEL=<name> in qgis_process, scripts and .model3 files); the dialogs show
        # a drop-down of the installed models, a file browser and the chosen model's card.
        model.setMetadata(model_picker.wrapper_metadata(self.TASK))
        self.addParameter(model)
        self.addParameter(
            QgsProcessingParameterEnum(
                self.DEVICE, self.tr("Device"), options=list(DEVICES), defaultValue=0
            )
        )
        if self.takes_strength():
            self.addParameter(
                QgsProcessingParameterNumber(
                    self.STRENGTH, self.tr("Strength: share of the model's change to keep (1: all, 0: none)"),
                    type=DOUBLE, defaultValue=1.0, minValue=0.0, maxValue=1.0,
                )
            )  # fmt: skip
        if self.takes_black_level():
            self.addParameter(
                QgsProcessingParameterNumber(
                    self.BLACK_LEVEL,
                    self.tr("Black level: the input's value of black ground (Landsat 8/9 L1: 5000, 0: none)"),
                    type=DOUBLE, defaultValue=0.0,
                )
            )  # fmt: skip
        self.addParameter(
            QgsProcessingParameterExtent(
                self.EXTENT, self.tr("Extent: restore only this area (empty: the whole raster)"),
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                self.MASK_LAYER, self.tr("Polygons: restore only inside them (outside keeps the input)"),
                [QgsProcessing.TypeVectorPolygon], optional=True,
            )
        )  # fmt: skip
        advanced = (
            QgsProcessingParameterNumber(
                self.TILE_SIZE, self.tr("Tile size in pixels (0: the model's default)"),
                type=INTEGER, defaultValue=0, minValue=0,
            ),
            QgsProcessingParameterNumber(
                self.OVERLAP, self.tr("Tile overlap in pixels (-1: the model's default halo)"),
                type=INTEGER, defaultValue=-1, minValue=-1,
            ),
            QgsProcessingParameterNumber(
                self.BATCH_SIZE, self.tr("Tiles per batch (0: automatic)"),
                type=INTEGER, defaultValue=0, minValue=0,
            ),
            QgsProcessingParameterBoolean(
                self.ALLOW_LARGE,
                self.tr("Allow large rasters: skip the size, memory and free disk space checks"),
                defaultValue=False,
            ),
        )  # fmt: skip
        for param in advanced:
            param.setFlags(param.flags() | ADVANCED)
            self.addParameter(param)
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Restored raster")))
        self.add_extra_outputs()

    def add_extra_outputs(self) -> None:
        """Hook for tasks with more outputs (fill_gaps: the mask of filled pixels)."""

    def extra_options(
        self, parameters: dict[str, Any], context: QgsProcessingContext
    ) -> dict[str, Any]:
        """Hook: more ``RestoreJob`` fields by name (fill_gaps: ``mask_output``)."""
        return {}

    # -- the job -------------------------------------------------------------------------------
    def build_job(self, parameters: dict[str, Any], context: QgsProcessingContext) -> RestoreJob:
        """Turn parameter values into the backend's ``RestoreJob``, without running anything."""
        inputs = {}
        optical = None
        for name, role, optional in self.raster_parameters():
            layer = self.parameterAsRasterLayer(parameters, name, context)
            if layer is None:
                if optional:
                    continue
                raise QgsProcessingException(self.invalidRasterError(parameters, name))
            inputs[role] = layer_path(layer, name)
            optical = layer if role == "optical" else optical
        bands = self.parameterAsInts(parameters, self.BANDS, context) or None
        overlap = self.parameterAsInt(parameters, self.OVERLAP, context)
        options = {
            "model": self.parameterAsString(parameters, self.MODEL, context).strip() or None,
            "device": DEVICES[self.parameterAsEnum(parameters, self.DEVICE, context)],
            "tile_size": self.parameterAsInt(parameters, self.TILE_SIZE, context) or None,
            "overlap": None if overlap < 0 else overlap,
            "batch_size": self.parameterAsInt(parameters, self.BATCH_SIZE, context) or None,
            "bands": bands,
        }
        if self.takes_strength():
            options["strength"] = self.parameterAsDouble(parameters, self.STRENGTH, context)
        if self.takes_black_level():
            options["black_level"] = self.parameterAsDouble(parameters, self.BLACK_LEVEL, context)
        if self.parameterAsBoolean(parameters, self.ALLOW_LARGE, context):
            options["allow_large"] = True
        if parameters.get(self.EXTENT) not in (None, "") and optical is not None:
            # In the input raster's CRS, whatever CRS the extent was drawn in.
            rect = self.parameterAsExtent(parameters, self.EXTENT, context, optical.crs())
            if not rect.isEmpty():
                options["extent"] = _backend.module("extent").Extent(
                    rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum())
        if parameters.get(self.MASK_LAYER) not in (None, "") and optical is not None:
            options["region"] = self.region_file(parameters, context, optical.crs())
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        options.update(self.extra_options(parameters, context))
        return _backend.module("job").RestoreJob(self.TASK, inputs, output, **options)

    def region_file(self, parameters: dict[str, Any], context: QgsProcessingContext, crs: Any) -> str:
        """MASK_LAYER's polygons (selected features only if so asked) in ``crs``, as a GeoJSON file
        in Processing's temporary folder: what the backend reads with OGR."""
        source = self.parameterAsSource(parameters, self.MASK_LAYER, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.MASK_LAYER))
        transform = QgsCoordinateTransform(source.sourceCrs(), crs, context.transformContext())
        features = []
        for feature in source.getFeatures():
            geometry = feature.geometry()
            if geometry.isEmpty():
                continue
            geometry.transform(transform)
            features.append({"type": "Feature", "properties": {}, "geometry": json.loads(geometry.asJson())})
        if not features:
            raise QgsProcessingException(self.tr("The polygon layer has no features to restore inside"))
        authid = crs.authid()
        collection = {"type": "FeatureCollection", "features": features}
        if authid:
            collection["crs"] = {"type": "name", "properties": {"name": authid}}
        path = QgsProcessingUtils.generateTempFilename("region.geojson")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(collection, handle)
        return path

    def checkParameterValues(self, parameters: dict[str, Any], context: QgsProcessingContext) -> tuple:
        # Processing loads input paths as layers here, first: with GDAL's PAM on, the histogram QGIS
        # computes for a layer's default renderer would be saved as INPUT.aux.xml beside the data.
        with no_gdal_sidecars():
            return super().checkParameterValues(parameters, context)

    def prepareAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> bool:
        # Main thread: the only safe place to read the input layer's renderer for the GUI styling.
        with no_gdal_sidecars():
            layer = self.parameterAsRasterLayer(parameters, self.optical_parameter(), context)
        renderer = layer.renderer() if layer is not None else None
        self._renderer = renderer.clone() if renderer is not None else None
        return True

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        missing = dependencies.check()
        if missing:  # the long instructions once; Processing repeats the exception's text (log, error)
            feedback.pushWarning(dependencies.instructions(missing))
            raise QgsProcessingException(dependencies.missing_summary(missing))
        job = self.build_job(parameters, context)
        self._output_path, self._bands = job.output, job.bands
        result = run_job(job, feedback)
        report(result, feedback)
        return self.outputs_of(result)

    def outputs_of(self, result: Any) -> dict[str, Any]:
        return {self.OUTPUT: str(result.output)}

    def postProcessAlgorithm(
        self, context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        if context.willLoadLayerOnCompletion(self._output_path):
            # The input's band choice, and a stretch of the output's own values (see styling.py).
            renderer = None if self._renderer is None else renumbered_renderer(self._renderer, self._bands)
            details = context.layerToLoadOnCompletionDetails(self._output_path)
            details.setPostProcessor(RendererCopier.create(renderer) if renderer is not None
                                     else OwnStretch.create())
        return {}


def layer_path(layer: QgsRasterLayer, parameter: str) -> str:
    """The GDAL dataset name of a raster layer; only file-like (GDAL) layers can be restored."""
    if layer.providerType() != "gdal":
        raise QgsProcessingException(
            f"{parameter}: layer '{layer.name()}' comes from the '{layer.providerType()}' provider; "
            "restoration reads rasters with GDAL: save it as a GeoTIFF first (Raster > Conversion > "
            "Translate) and use that."
        )
    return layer.source()


def run_job(job: RestoreJob, feedback: QgsProcessingFeedback) -> Any:
    """The single backend call, with progress, cancel and log wired to Processing's feedback."""
    pipeline = _backend.module("pipeline")
    try:
        return pipeline.restore(
            job,
            progress=lambda fraction: feedback.setProgress(100.0 * fraction),
            cancel=feedback.isCanceled,
            log=feedback.pushInfo,
        )
    except _backend.errors.RestoreError as err:
        raise QgsProcessingException(user_message(err)) from None
    except Exception as exc:  # not a RestoreError: a bug, reported as one with its traceback
        feedback.reportError(traceback.format_exc())
        raise QgsProcessingException(
            f"Unexpected error in Raster Restoration ({type(exc).__name__}: {exc}). This is a bug: "
            "please report it with the log above and the output of restore:diagnostics."
        ) from exc


def report(result: Any, feedback: QgsProcessingFeedback) -> None:
    """Model, device, execution provider, tiles and timings of a finished run, for the log."""
    feedback.pushInfo(f"Model: {result.model} ({result.model_path})")
    feedback.pushInfo(f"Device: {result.device}; ONNX Runtime execution provider: {result.provider}")
    feedback.pushInfo(f"Tiles: {result.tiles} ({result.skipped_tiles} skipped: no valid pixels)")
    seconds = getattr(result, "seconds", None) or {}
    if seconds:
        feedback.pushInfo("Timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items()))
