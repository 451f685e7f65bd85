# Turns tests/vectors/sum_f64.txt into a C include for tests/c/test_mylib.c
# (the Makefile writes it to target/c/sum_f64_vectors.inc), so that the C
# suite needs no file I/O under Wine or qemu:
#
#   static const uint64_t sum_vector_bits[];   every value of every case
#   static const sum_vector sum_vectors[];     {name, status, is_nan, expected
#                                               bits, repeat, n, first value}
#   #define SUM_VECTOR_COUNT, SUM_VECTOR_VALUES
#
# sum_vector is defined by the includer. POSIX awk (mawk, gawk, busybox).

/^#/ {
    group = substr($0, 3)
    gsub(/\\/, "\\\\", group)
    gsub(/"/, "\\\"", group)
    number = 0
    next
}
NF == 0 { next }
{
    if (NF != 4 + $4) {
        printf "%s:%d: %d fields, expected 4 + %s\n", FILENAME, FNR, NF, $4 > "/dev/stderr"
        failed = 1
        exit 1
    }
    number++
    is_nan = ($2 == "nan")
    want = is_nan ? "0" : "UINT64_C(0x" $2 ")"
    cases[ncases++] = sprintf("    {\"%s [%d]\", %d, %d, %s, %s, %s, %d},", group, number, $1, is_nan, want, $3, $4, nbits)
    for (i = 5; i <= NF; i++) bits[nbits++] = "UINT64_C(0x" $i ")"
}
END {
    if (failed) exit 1
    print "/* Generated from tests/vectors/sum_f64.txt by tests/vectors/to_c.awk: do not edit. */"
    printf "#define SUM_VECTOR_COUNT %d\n", ncases
    printf "#define SUM_VECTOR_VALUES %d\n", nbits
    print "static const uint64_t sum_vector_bits[SUM_VECTOR_VALUES] = {"
    for (i = 0; i < nbits; i += 4) {
        line = "   "
        for (j = i; j < i + 4 && j < nbits; j++) line = line " " bits[j] ","
        print line
    }
    print "};"
    print "static const sum_vector sum_vectors[SUM_VECTOR_COUNT] = {"
    for (i = 0; i < ncases; i++) print cases[i]
    print "};"
}
