"""Inference backends other than torch: ONNX Runtime (fp32, or dynamic int8 with an fp32 recheck).

Load any backend with :func:`kontak_nlp.inference.load_model`.
"""
