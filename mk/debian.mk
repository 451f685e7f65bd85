# Debian systems made with debootstrap from Debian's archive
# (mk/debian-root.sh), kept under target/debian/ and rebuilt when missing or when
# their package list changes (`rm -r target/debian` for fresh ones). They need
# root (debootstrap, chroot, mount) and the network (Debian's archive, PyPI).
#
#   make debian-roots   all of them
#
# The sid root builds the PyPy wheel (mk/dist.mk).

DEBIAN_DIR     := target/debian
DEBIAN_ROOT_SH := mk/debian-root.sh
DEBIAN_LOGS    := $(DEBIAN_DIR)/logs

# $(1): the root's name; $(2): Debian suite; $(3): Debian architecture; $(4): packages.
# Defines DEBIAN_ROOT_<name> (the directory) and DEBIAN_STAMP_<name> (made with it).
define debian_root
DEBIAN_ROOT_$(1)  := $(DEBIAN_DIR)/$(1)
DEBIAN_STAMP_$(1) := $(DEBIAN_DIR)/$(1)/.debian-arch
$(DEBIAN_DIR)/$(1).conf: FORCE
	@mkdir -p $$(@D)
	@echo '$(2) $(3) $(4)' | cmp -s - $$@ || echo '$(2) $(3) $(4)' > $$@
$(DEBIAN_DIR)/$(1)/.debian-arch: $(DEBIAN_DIR)/$(1).conf
	$(DEBIAN_ROOT_SH) create $(DEBIAN_DIR)/$(1) $(2) $(3) $(4)
endef

# gcc and libc6-dev: the suite compiles small C programs and libraries.
$(eval $(call debian_root,bullseye-amd64,bullseye,amd64,python3 python3-venv gcc libc6-dev))
# pypy3-dev: PyPy's headers, for building the PyPy wheel here.
$(eval $(call debian_root,sid-amd64,sid,amd64,python3.14 python3.14-venv python3.15 python3.15-venv pypy3 pypy3-venv pypy3-dev gcc libc6-dev))
# Nothing of it runs but Python, under qemu: no compiler (the host's cross gcc builds the suite's aarch64 libraries).
$(eval $(call debian_root,bookworm-arm64,bookworm,arm64,python3 python3-venv))

.PHONY: debian-roots

debian-roots: $(DEBIAN_STAMP_bullseye-amd64) $(DEBIAN_STAMP_sid-amd64) $(DEBIAN_STAMP_bookworm-arm64)
