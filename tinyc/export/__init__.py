"""IR graph -> model files other engines read (TFLite flatbuffers: TFLM and TFLite run tinyc's output)."""

from tinyc.export.tflite import tflite_bytes, write_tflite

__all__ = ["tflite_bytes", "write_tflite"]
