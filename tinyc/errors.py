"""The one exception type users see: the CLI prints its message on one line and exits with code 2."""


class TinycError(Exception):
    """A problem with the user's input (model, data, board, toolchain), stated in one line."""


class ModelError(TinycError):
    """A model file that cannot be read: malformed, truncated, hostile or inconsistent."""


class UnsupportedOpError(TinycError):
    """An operator tinyc has no kernel for."""

    def __init__(self, op: str, node: str, source: str):
        super().__init__(f"unsupported op {op} in node '{node}' of {source}")


class GraphError(TinycError):
    """An ill-formed IR graph (the verifier's findings)."""


class InputError(TinycError):
    """Input data that does not match the model (shape, dtype, contents)."""


class ToolchainError(TinycError):
    """A compiler, emulator or other external tool that is missing or failed."""
