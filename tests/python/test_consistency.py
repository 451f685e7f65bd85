"""The bindings agree with the C header (include/mylib.h, parsed with
pycparser) and with tests/exported-symbols.txt: ctypes argtypes/restype,
cffi declarations, and the Point struct's layout in C, ctypes, cffi and Rust."""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess

import cffi
import pytest
from pycparser import c_ast, c_parser

import helpers

# ---------------------------------------------------------------- header model


def header_declarations_text() -> str:
    """include/mylib.h without comments, preprocessor lines and the extern "C" guard."""
    text = helpers.HEADER.read_text(encoding="utf-8")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    lines = []
    for line in text.splitlines():
        if 'extern "C"' in line:  # `extern "C" {` and `}  // extern "C"`
            continue
        line = re.sub(r"//.*", "", line)
        if line.lstrip().startswith("#"):
            continue
        lines.append(line)
    return "\n".join(lines)


def parse_header():
    """(functions, typedefs, enums): function name -> type model, from pycparser.

    Type models are tuples: ("void",), ("prim", name), ("struct", name),
    ("ptr", target, target_is_const), ("func", result, (args...))."""
    src = ("typedef unsigned long size_t;\ntypedef long int64_t;\ntypedef long ptrdiff_t;\n"
           "typedef unsigned char uint8_t;\ntypedef unsigned long uint64_t;\n" + header_declarations_text())
    ast = c_parser.CParser().parse(src, filename="mylib.h")
    typedefs: dict[str, c_ast.Node] = {}
    functions: dict[str, tuple] = {}
    enums: dict[str, int] = {}

    def model(node) -> tuple:
        if isinstance(node, c_ast.TypeDecl):
            inner = node.type
            if isinstance(inner, c_ast.IdentifierType):
                name = " ".join(inner.names)
                if name in ("size_t", "int64_t", "ptrdiff_t", "uint8_t", "uint64_t"):
                    return ("prim", name)
                if name in typedefs:
                    return model(typedefs[name])
                if name == "void":
                    return ("void",)
                return ("prim", name)
            if isinstance(inner, c_ast.Struct):
                return ("struct", inner.name)
            if isinstance(inner, c_ast.Enum):
                return ("prim", "int")
            raise AssertionError(f"unexpected type node {inner!r}")
        if isinstance(node, c_ast.PtrDecl):
            target = node.type
            const = isinstance(target, c_ast.TypeDecl) and "const" in target.quals
            return ("ptr", model(target), const)
        if isinstance(node, c_ast.FuncDecl):
            args = []
            for p in node.args.params if node.args else []:
                t = model(p.type)
                if t != ("void",):
                    args.append(t)
            return ("func", model(node.type), tuple(args))
        raise AssertionError(f"unexpected declarator {node!r}")

    for ext in ast.ext:
        if isinstance(ext, c_ast.Typedef):
            typedefs[ext.name] = ext.type
            t = ext.type.type if isinstance(ext.type, c_ast.TypeDecl) else None
            if isinstance(t, c_ast.Enum):
                value = -1
                for e in t.values.enumerators:
                    value = int(e.value.value) if e.value is not None else value + 1
                    enums[e.name] = value
        elif isinstance(ext, c_ast.Decl) and isinstance(ext.type, c_ast.FuncDecl):
            functions[ext.name] = model(ext.type)
    return functions, typedefs, enums


@pytest.fixture(scope="module")
def header():
    """The parsed header: (functions, typedefs, enums)."""
    return parse_header()


def exported_symbols() -> list[str]:
    """The names listed in tests/exported-symbols.txt."""
    out = []
    for line in helpers.EXPORTED_SYMBOLS.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def test_header_parses_and_matches_symbol_list(header):
    """The header declares exactly the functions of tests/exported-symbols.txt."""
    functions, _, _ = header
    assert sorted(functions) == sorted(exported_symbols())


def test_header_status_codes(header):
    """The header's status codes are the ones the exceptions carry (1..11)."""
    _, _, enums = header
    assert enums == {
        "MYLIB_OK": 0,
        "MYLIB_ERR_NULL_POINTER": 1,
        "MYLIB_ERR_INVALID_LENGTH": 2,
        "MYLIB_ERR_OVERFLOW": 3,
        "MYLIB_ERR_MISSING_CALLBACK": 4,
        "MYLIB_ERR_IO": 5,
        "MYLIB_ERR_PANIC": 6,
        "MYLIB_ERR_MISALIGNED": 7,
        "MYLIB_ERR_CALLBACK_FAILED": 8,
        "MYLIB_ERR_NO_MEMORY": 9,
        "MYLIB_ERR_BAD_FORMAT": 10,
        "MYLIB_ERR_UNSUPPORTED_VERSION": 11,
    }


# ---------------------------------------------------------------- ctypes
PRIMS = {"int": ctypes.c_int, "double": ctypes.c_double, "size_t": ctypes.c_size_t, "int64_t": ctypes.c_int64, "char": ctypes.c_char,
         "ptrdiff_t": ctypes.c_ssize_t, "uint8_t": ctypes.c_uint8, "uint64_t": ctypes.c_uint64}


def _is_point_structure(ct) -> bool:
    return (
        isinstance(ct, type)
        and issubclass(ct, ctypes.Structure)
        and [(f[0], f[1]) for f in ct._fields_] == [("x", ctypes.c_int), ("y", ctypes.c_int)]
    )


def ctypes_matches(ct, t: tuple) -> str | None:
    """None when the ctypes type ``ct`` is a correct declaration of header type ``t``, else why not."""
    kind = t[0]
    if kind == "void":
        return None if ct is None else f"{ct!r} for void"
    if kind == "prim":
        want = PRIMS[t[1]]
        return None if ct is want else f"{ct!r} for {t[1]} (want {want.__name__})"
    if kind == "ptr":
        target = t[1]
        if target[0] == "func":
            if not (isinstance(ct, type) and issubclass(ct, ctypes._CFuncPtr)):
                return f"{ct!r} for a function pointer (want a CFUNCTYPE type)"
            if ct._flags_ & ctypes._FUNCFLAG_PYTHONAPI:
                return f"{ct!r}: PYFUNCTYPE, want CFUNCTYPE"
            if not ct._flags_ & ctypes._FUNCFLAG_CDECL:
                return f"{ct!r}: not cdecl"
            why = ctypes_matches(ct._restype_, target[1])
            if why:
                return f"callback result: {why}"
            if len(ct._argtypes_) != len(target[2]):
                return f"callback takes {len(ct._argtypes_)} args, header {len(target[2])}"
            for i, (a, ta) in enumerate(zip(ct._argtypes_, target[2])):
                why = ctypes_matches(a, ta)
                if why:
                    return f"callback arg {i}: {why}"
            return None
        if ct is ctypes.c_void_p:
            return None
        if target == ("prim", "char"):
            return None if ct is ctypes.c_char_p else f"{ct!r} for char * (want c_char_p or c_void_p)"
        if target[0] == "void":
            return f"{ct!r} for void * (want c_void_p)"
        if not (isinstance(ct, type) and issubclass(ct, ctypes._Pointer)):
            return f"{ct!r} for a pointer (want POINTER(T) or c_void_p)"
        pointee = ct._type_
        if target[0] == "struct":
            return None if _is_point_structure(pointee) else f"POINTER({pointee!r}) for struct {target[1]} *"
        if target[0] == "ptr" and target[1] == ("prim", "char"):
            return None if pointee in (ctypes.c_char_p, ctypes.c_void_p) else f"POINTER({pointee!r}) for char **"
        return ctypes_matches(pointee, target)
    return f"unexpected header type {t!r}"


@pytest.fixture(scope="module")
def ctypes_lib():
    """The ctypes binding's raw CDLL object (mylib.ctypes_binding._lib)."""
    mod = helpers.import_backend("ctypes_binding")
    lib = getattr(mod, "_lib", None)
    assert isinstance(lib, ctypes.CDLL), "mylib.ctypes_binding._lib should be the raw ctypes.CDLL"
    return lib


def test_ctypes_lib_releases_gil(ctypes_lib):
    """The ctypes binding uses CDLL (calls release the GIL), not PyDLL."""
    assert type(ctypes_lib) is ctypes.CDLL
    assert not ctypes_lib._func_flags_ & ctypes._FUNCFLAG_PYTHONAPI


@pytest.mark.parametrize("name", sorted(parse_header()[0]))
def test_ctypes_declarations_match_header(ctypes_lib, header, name):
    """Each header function is declared in the ctypes binding with matching argtypes and restype."""
    functions, _, _ = header
    _, ret, args = functions[name]
    f = getattr(ctypes_lib, name)
    assert f.argtypes is not None, f"{name}: argtypes not declared"
    assert len(f.argtypes) == len(args), f"{name}: {len(f.argtypes)} argtypes, header has {len(args)} parameters"
    problems = []
    why = ctypes_matches(f.restype, ret)
    if why:
        problems.append(f"restype: {why}")
    for i, (ct, t) in enumerate(zip(f.argtypes, args)):
        why = ctypes_matches(ct, t)
        if why:
            problems.append(f"arg {i}: {why}")
    assert not problems, f"{name}: " + "; ".join(problems)


@pytest.mark.parametrize("name", exported_symbols())
def test_exported_symbols_declared_in_ctypes(ctypes_lib, name):
    """Every exported symbol of tests/exported-symbols.txt is declared (argtypes set) in the ctypes binding."""
    assert getattr(ctypes_lib, name).argtypes is not None, name


# ---------------------------------------------------------------- cffi
@pytest.fixture(scope="module")
def reference_cffi():
    """(ffi, lib) declared from the header text itself (independently of the package)."""
    ffi = cffi.FFI()
    ffi.cdef(header_declarations_text())
    return ffi, ffi.dlopen(str(helpers.library_path()))


def _cffi_backend(module: str):
    mod = helpers.import_backend(module)
    ffi = getattr(mod, "ffi", None) or getattr(mod, "_ffi", None)
    lib = getattr(mod, "lib", None) or getattr(mod, "_lib", None)
    assert ffi is not None and lib is not None, f"mylib.{module} exposes no ffi/lib (looked for ffi/_ffi and lib/_lib)"
    return ffi, lib


def _normalize_cname(cname: str) -> str:
    """cffi spells a typedef'd struct (Point, the opaque mylib_exact_sum) either 'X' or 'struct X' (same type)."""
    return re.sub(r"\bstruct (\w+)", r"\1", cname)


@pytest.mark.parametrize("module", ["cffi_binding", "cffi_compiled"])
@pytest.mark.parametrize("name", sorted(parse_header()[0]))
def test_cffi_declarations_match_header(reference_cffi, module, name):
    """Each header function is declared in the cffi backends with the header's C type."""
    ffi, lib = _cffi_backend(module)
    ref_ffi, ref_lib = reference_cffi
    want = _normalize_cname(ref_ffi.typeof(getattr(ref_lib, name)).cname)
    assert hasattr(lib, name), f"mylib.{module}: {name} not declared"
    got = _normalize_cname(ffi.typeof(getattr(lib, name)).cname)
    assert got == want


def test_cffi_reference_agrees_with_pycparser(reference_cffi, header):
    """The cffi reference declarations and the pycparser model agree on every function's arity and result kind."""
    ref_ffi, ref_lib = reference_cffi
    functions, _, _ = header
    for name, (_, ret, args) in functions.items():
        t = ref_ffi.typeof(getattr(ref_lib, name))
        assert len(t.args) == len(args), name
        assert (t.result.kind == "void") == (ret == ("void",)), name


# ---------------------------------------------------------------- Point layout
@pytest.fixture(scope="module")
def c_point_layout(tmp_path_factory):
    """(sizeof, offsetof x, offsetof y) of Point as the system C compiler sees the header."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler (cc) to check the C layout")
    d = tmp_path_factory.mktemp("layout")
    src = d / "layout.c"
    src.write_text(
        '#include <stdio.h>\n#include <stddef.h>\n#include "mylib.h"\n'
        'int main(void) { printf("%u %u %u\\n", (unsigned)sizeof(Point), '
        "(unsigned)offsetof(Point, x), (unsigned)offsetof(Point, y)); return 0; }\n"
    )
    exe = d / "layout"
    subprocess.run([cc, "-std=c99", "-I", str(helpers.HEADER.parent), str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()
    return tuple(int(v) for v in out)


# Rust: src/capi.rs asserts at compile time that Point is two c_ints, x at 0,
# y at size_of::<c_int>(), so its layout is (8, 0, 4) with a 4-byte int.
RUST_POINT_LAYOUT = (8, 0, 4)


def test_point_layout_c_vs_rust(c_point_layout):
    """Point in C is (8 bytes, x at 0, y at 4), which is what the Rust const assertions pin."""
    assert c_point_layout == RUST_POINT_LAYOUT


def test_point_layout_ctypes(ctypes_lib, c_point_layout):
    """The ctypes binding's Point Structure (print_point's argtype) has the C layout."""
    argtype = ctypes_lib.print_point.argtypes[0]
    if argtype is ctypes.c_void_p:
        pytest.fail("print_point is declared with c_void_p: the binding has no Point Structure to check")
    S = argtype._type_
    assert _is_point_structure(S)
    assert (ctypes.sizeof(S), S.x.offset, S.y.offset) == c_point_layout


@pytest.mark.parametrize("module", ["cffi_binding", "cffi_compiled"])
def test_point_layout_cffi(module, c_point_layout):
    """cffi's Point (ABI and compiled API mode) has the C layout."""
    ffi, _ = _cffi_backend(module)
    assert (ffi.sizeof("Point"), ffi.offsetof("Point", "x"), ffi.offsetof("Point", "y")) == c_point_layout

