"""Training package: data, degradation synthesis, losses, loop, ONNX export and evaluation.

Depends on ``backend`` (model-card schema, normalisation, the restore pipeline) and never the other
way round. Entry point: ``python -m training {train,export,evaluate,figures,realism}``.
"""
