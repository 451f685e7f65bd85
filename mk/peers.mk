# make bench-peers: the seed's comparison of ways to call native code from
# Python (ctypes, cffi, the Python C API, PyO3, Cython, Numba, numpy, pure
# Python), measured on the same three operations. See bench/peers/peers_bench.py.
#
#   make bench-peers    build everything it needs (library, mylib's modules, the
#                       bench venv, the PyO3 and Cython modules), check every
#                       route's values, time them, write bench/results/peers.{json,txt,png}
#   make test-peers     the peers' own tests: lint of the PyO3 crate, every route
#                       checked, the checks shown to catch wrong routes, a quick run
#   PEERS_ARGS="--sizes 1e3 1e5 --rounds 5" make bench-peers
#
# Everything it builds lives under target/ (the venv target/peers-venv, the
# modules under target/peers/): nothing here is a dependency of mylib or of its
# Python package.

PEERS_VENV  := target/peers-venv
PEERS_PY    := $(PEERS_VENV)/bin/python
PEERS_VENV_STAMP := $(PEERS_VENV)/.done
PEERS_BUILD := target/peers
PEERS_ARGS  ?=

PEERS_PYO3_DIR     := bench/peers/pyo3
PEERS_PYO3_SOURCES := $(PEERS_PYO3_DIR)/Cargo.toml $(PEERS_PYO3_DIR)/pyproject.toml $(wildcard $(PEERS_PYO3_DIR)/src/*.rs)
PEERS_PYO3_STAMP   := $(PEERS_BUILD)/pyo3/.installed
PEERS_CYTHON_STAMP := $(PEERS_BUILD)/cython/.built
# cargo on the PyO3 crate: its own target dir, the bench venv's Python.
PEERS_CARGO_ENV    := CARGO_TARGET_DIR=$(abspath $(PEERS_BUILD)/pyo3) PYO3_PYTHON=$(abspath $(PEERS_PY))

.PHONY: bench-peers test-peers peers-modules

CI_TARGETS += test-peers

$(PEERS_VENV_STAMP): bench/peers/requirements.txt
	@test -x $(PEERS_PY) || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_PY) -m pip install --quiet --disable-pip-version-check -r bench/peers/requirements.txt
	@touch $@

# The PyO3 module: a wheel built by maturin, installed into the bench venv.
# It links the mylib crate itself, so mylib's sources are prerequisites.
$(PEERS_PYO3_STAMP): $(PEERS_PYO3_SOURCES) $(RUST_SOURCES) $(PEERS_VENV_STAMP)
	rm -rf $(PEERS_BUILD)/wheels
	$(PEERS_CARGO_ENV) $(PEERS_VENV)/bin/maturin build --release --quiet -m $(PEERS_PYO3_DIR)/Cargo.toml \
	  -o $(PEERS_BUILD)/wheels -i $(PEERS_PY)
	$(PEERS_PY) -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps $(PEERS_BUILD)/wheels/*.whl
	@mkdir -p $(@D) && touch $@

# The Cython module: C from Cython, compiled with the interpreter's own flags
# against include/mylib.h and linked to libmylib (rpath to target/release).
$(PEERS_CYTHON_STAMP): bench/peers/cython/peers_cython.pyx $(HEADER) $(LIB_STAMP) $(PEERS_VENV_STAMP)
	@mkdir -p $(@D)
	$(PEERS_VENV)/bin/cython -3 $< -o $(@D)/peers_cython.c
	inc=$$($(PEERS_PY) -c 'import sysconfig; print(sysconfig.get_paths()["include"])'); \
	ext=$$($(PEERS_PY) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))'); \
	cflags=$$($(PEERS_PY) -c 'import sysconfig; print(sysconfig.get_config_var("CFLAGS"))'); \
	$(CC) $$cflags -fPIC -shared -I"$$inc" -Iinclude $(@D)/peers_cython.c -o $(@D)/peers_cython$$ext \
	  -L$(RELEASE) -lmylib $(RPATH)
	@touch $@

peers-modules: all $(PEERS_PYO3_STAMP) $(PEERS_CYTHON_STAMP)

bench-peers: peers-modules
	$(PEERS_PY) bench/peers/peers_bench.py $(PEERS_ARGS)

test-peers: peers-modules
	cd $(PEERS_PYO3_DIR) && $(CARGO) fmt --check
	cd $(PEERS_PYO3_DIR) && $(PEERS_CARGO_ENV) $(CARGO) clippy --release --quiet -- -D warnings
	$(PEERS_PY) -m pytest -q bench/peers/tests
