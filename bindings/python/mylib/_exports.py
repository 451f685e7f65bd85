"""The names every backend module exports, for ``import *`` and the
re-export in ``mylib/__init__.py``."""

API = (
    "add",
    "greet",
    "greeting",
    "Point",
    "print_point",
    "sum_array",
    "fast_sum",
    "process",
    "set_debug",
    "debug_enabled",
    "version",
    "MylibError",
    "NullPointerError",
    "InvalidLengthError",
    "MylibOverflowError",
    "MissingCallbackError",
    "MylibIOError",
    "PanicError",
    "MisalignedError",
    "CallbackFailedError",
)
