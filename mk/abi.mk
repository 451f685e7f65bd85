# The C consumer's side of shipping: the CMake package test and the ABI baseline.
#
#   make test-cmake     CMake consumers (find_package, pkg_check_modules) of a DESTDIR install
#   make abi-check      the built library's ABI against abi/<host>/ (part of make test)
#   make abi-baseline   record the ABI on purpose (ABI_REF=<commit> to record a commit's)

.PHONY: test-cmake

# find_package(mylib CONFIG) with mylib::mylib and mylib::mylib_static, the
# version rule, relocation, and pkg-config from CMake (tests/install/test_cmake.sh).
test-cmake: $(LIB_STAMP)
	tests/install/test_cmake.sh

TEST_TARGETS += test-cmake
