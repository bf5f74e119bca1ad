"""Test helpers shared by the test packages: tiny ONNX model packages and raster fixtures."""
