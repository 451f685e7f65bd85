"""Where a buffer's memory is, for the backends that get it without a C
compiler (ctypes, cffi): the address of a read-only buffer, and the address of
the first item of a buffer of any layout (strided, n-dimensional, reversed),
which Python itself does not tell.

- CPython: the buffer protocol through ``ctypes.pythonapi`` (one export per
  call, released when its keep-alive object is freed, on every path).
- PyPy (no ``ctypes.pythonapi``): numpy, which reads the buffer protocol for
  us, when it is installed; without it a non-contiguous buffer is refused with
  a ``TypeError`` that says what to do.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, c_char_p, c_int, c_void_p

#: PyBUF_STRIDES | PyBUF_FORMAT: any layout, read-only, with its format.
_PYBUF_RECORDS_RO = 0x0018 | 0x0004

if hasattr(ctypes, "pythonapi"):

    class _Export(ctypes.Structure):
        """A ``Py_buffer`` that releases itself when it is freed, so the export
        ends on every path (asynchronous exceptions included)."""

        _fields_ = [
            ("buf", c_void_p), ("obj", c_void_p), ("len", ctypes.c_ssize_t), ("itemsize", ctypes.c_ssize_t),
            ("readonly", c_int), ("ndim", c_int), ("format", c_char_p), ("shape", c_void_p),
            ("strides", c_void_p), ("suboffsets", c_void_p), ("internal", c_void_p),
        ]

        def __del__(self):
            if self.obj:
                _PyBuffer_Release(ctypes.byref(self))

    _PyObject_GetBuffer = ctypes.pythonapi.PyObject_GetBuffer
    _PyObject_GetBuffer.argtypes = [ctypes.py_object, POINTER(_Export), c_int]
    _PyObject_GetBuffer.restype = c_int
    _PyBuffer_Release = ctypes.pythonapi.PyBuffer_Release
    _PyBuffer_Release.argtypes = [POINTER(_Export)]
    _PyBuffer_Release.restype = None

    def _export(mv: memoryview, flags: int):
        export = _Export()
        if _PyObject_GetBuffer(mv, ctypes.byref(export), flags) != 0:
            raise BufferError("cannot get the buffer's address")
        return export.buf, export

    def readonly_address(mv: memoryview):
        """``(address, keepalive)`` of a read-only contiguous memoryview."""
        return _export(mv, 0)  # PyBUF_SIMPLE

    def first_item(mv: memoryview):
        """``(address, keepalive)`` of the first item (index ``(0, ..., 0)``) of
        a memoryview of any layout; the address stays valid while ``keepalive``
        lives."""
        return _export(mv, _PYBUF_RECORDS_RO)

else:  # PyPy

    def readonly_address(mv: memoryview):
        """``(address, keepalive)`` of a copy: PyPy's ctypes cannot point into
        read-only memory (the cffi backends do not copy)."""
        copy = (ctypes.c_char * mv.nbytes).from_buffer_copy(mv)
        return ctypes.addressof(copy), copy

    def first_item(mv: memoryview):
        """``(address, keepalive)`` of the first item of a memoryview of any
        layout, through numpy (which reads the buffer protocol)."""
        try:
            import numpy
        except ImportError:
            raise TypeError(
                "a non-contiguous buffer needs numpy to be read in place on PyPy; install numpy, or pass a "
                "contiguous copy (e.g. bytes(view) cast to 'd', or numpy.ascontiguousarray)"
            ) from None
        array = numpy.asarray(mv)
        return array.__array_interface__["data"][0], array
