# The kernels' and threads' extra suites (included by the Makefile).
#
#   make test-c-nosan   the C suite built without sanitizers (-O2), run with the
#                       default thread count and with MYLIB_NUM_THREADS=1 and 7
#
# The sanitized C suite (test-c) cannot run the test that forks while another
# thread is inside a threaded sum: GCC 12's AddressSanitizer does not lock its
# own allocator across fork(), so such a child can hang inside ASan whatever
# the library does. This unsanitized build runs the whole suite, that test
# included, and the suite once more with other thread counts.

.PHONY: test-c-nosan
TEST_TARGETS += test-c-nosan

$(BUILD)/test_mylib_nosan: tests/c/test_mylib.c tests/c/harness.h $(VECTORS_INC) $(HEADER) $(DYLIB) | $(BUILD)
	$(CC) -std=c99 -O2 -g $(CWARN) -Iinclude -I$(BUILD) $< -o $@ -L$(RELEASE) -lmylib -lpthread -lm $(RPATH)

test-c-nosan: $(BUILD)/test_mylib_nosan
	@echo "== $< (no sanitizers)"; ./$<
	@for t in 1 7; do echo "== $< with MYLIB_NUM_THREADS=$$t"; MYLIB_NUM_THREADS=$$t ./$< | tail -n1; done
