"""Optional extras (ONNX Runtime, Optuna, Ray): checked when a flag needs one, before any work, naming what to
install."""

from __future__ import annotations

ONNX_EXTRA = "pip install 'bertft[onnx]' (from a checkout: pip install -e '.[onnx]')"


def _missing(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return True
    return False


def require_onnxruntime() -> None:
    """A clear error naming the extra when onnxruntime (or the exporter's onnxscript) is missing."""
    for module in ("onnxruntime", "onnxscript", "onnx"):
        if _missing(module):
            raise ImportError(f"--inference_backend onnxruntime needs the optional 'onnx' extra ({module} is not "
                              f"installed): {ONNX_EXTRA}, or use --inference_backend torch.")


def require_search_backend(backend: str) -> None:
    """Fail before any work when the search backend's package is missing, naming the extra to install."""
    module, extra = ("optuna", "hpsearch") if backend == "optuna" else ("ray.tune", "ray")
    if _missing(module):
        raise ImportError(f"--hp_search_backend {backend} needs {module.split('.')[0]}: pip install "
                          f"'bertft[{extra}]' (or pip install -e '.[{extra}]' in a checkout).")
