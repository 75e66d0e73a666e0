"""The ONNX Runtime backend: export once and cache, optional int8 (smoothed, near ties rechecked in fp32).

Load it with :func:`kontak_nlp.inference.load_model` and ``RuntimeOptions(backend="onnx")``.
"""
