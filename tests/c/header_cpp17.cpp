// include/mylib.h from C++17: the extern "C" block, the typedefs and the
// enum must work for a C++ consumer. Calls every export and checks results.

#include <unistd.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

#include "mylib.h"

static_assert(MYLIB_OK == 0, "MYLIB_OK");
static_assert(MYLIB_ERR_NULL_POINTER == 1, "MYLIB_ERR_NULL_POINTER");
static_assert(MYLIB_ERR_INVALID_LENGTH == 2, "MYLIB_ERR_INVALID_LENGTH");
static_assert(MYLIB_ERR_OVERFLOW == 3, "MYLIB_ERR_OVERFLOW");
static_assert(MYLIB_ERR_MISSING_CALLBACK == 4, "MYLIB_ERR_MISSING_CALLBACK");
static_assert(MYLIB_ERR_IO == 5, "MYLIB_ERR_IO");
static_assert(MYLIB_ERR_PANIC == 6, "MYLIB_ERR_PANIC");
static_assert(MYLIB_ERR_MISALIGNED == 7, "MYLIB_ERR_MISALIGNED");
static_assert(MYLIB_ERR_CALLBACK_FAILED == 8, "MYLIB_ERR_CALLBACK_FAILED");
static_assert(MYLIB_ERR_NO_MEMORY == 9, "MYLIB_ERR_NO_MEMORY");
static_assert(MYLIB_ERR_BAD_FORMAT == 10, "MYLIB_ERR_BAD_FORMAT");
static_assert(MYLIB_ERR_UNSUPPORTED_VERSION == 11, "MYLIB_ERR_UNSUPPORTED_VERSION");
static_assert(MYLIB_EXACT_SUM_BYTES == 288, "MYLIB_EXACT_SUM_BYTES");
static_assert(MYLIB_MAX_NDIM == 64, "MYLIB_MAX_NDIM");
static_assert(sizeof(Point) == 2 * sizeof(int), "sizeof(Point)");
static_assert(offsetof(Point, x) == 0, "offsetof(Point, x)");
static_assert(offsetof(Point, y) == sizeof(int), "offsetof(Point, y)");
static_assert(std::is_standard_layout<Point>::value, "Point is standard layout");
static_assert(std::is_same<decltype(&add), int (*)(int, int)>::value, "add signature");
static_assert(std::is_same<callback_t, int (*)(int)>::value, "callback_t");
static_assert(std::is_same<mylib_callback_fn, int (*)(void *, int, int *)>::value,
              "mylib_callback_fn");
static_assert(std::is_same<decltype(&mylib_sum_i32), int (*)(const int *, size_t, int64_t *)>::value,
              "mylib_sum_i32 signature");

// mylib_exact_sum is opaque: declared, never defined (sizeof would not compile).
template <typename T, typename = void>
struct is_complete : std::false_type {};
template <typename T>
struct is_complete<T, std::void_t<decltype(sizeof(T))>> : std::true_type {};
static_assert(!is_complete<mylib_exact_sum>::value, "mylib_exact_sum is an opaque type");
static_assert(is_complete<Point>::value, "the trait sees complete types");
static_assert(std::is_same<decltype(&mylib_sum_f64_strided),
                           int (*)(const void *, size_t, const size_t *, const ptrdiff_t *, double *)>::value,
              "mylib_sum_f64_strided takes ptrdiff_t strides");
static_assert(std::is_same<decltype(&mylib_exact_sum_new), int (*)(mylib_exact_sum **)>::value, "new");
static_assert(std::is_same<decltype(&mylib_exact_sum_free), void (*)(mylib_exact_sum *)>::value, "free");
static_assert(std::is_same<decltype(&mylib_exact_sum_add), int (*)(mylib_exact_sum *, const double *, size_t)>::value,
              "add");
static_assert(std::is_same<decltype(&mylib_exact_sum_add_strided),
                           int (*)(mylib_exact_sum *, const void *, size_t, const size_t *, const ptrdiff_t *)>::value,
              "add_strided");
static_assert(std::is_same<decltype(&mylib_exact_sum_add_value), int (*)(mylib_exact_sum *, double)>::value,
              "add_value");
static_assert(std::is_same<decltype(&mylib_exact_sum_merge), int (*)(mylib_exact_sum *, const mylib_exact_sum *)>::value,
              "merge");
static_assert(std::is_same<decltype(&mylib_exact_sum_result), int (*)(const mylib_exact_sum *, double *)>::value,
              "result");
static_assert(std::is_same<decltype(&mylib_exact_sum_count), int (*)(const mylib_exact_sum *, uint64_t *)>::value,
              "count");
static_assert(std::is_same<decltype(&mylib_exact_sum_reset), int (*)(mylib_exact_sum *)>::value, "reset");
static_assert(std::is_same<decltype(&mylib_exact_sum_to_bytes),
                           int (*)(const mylib_exact_sum *, uint8_t *, size_t)>::value,
              "to_bytes");
static_assert(std::is_same<decltype(&mylib_exact_sum_from_bytes),
                           int (*)(const uint8_t *, size_t, mylib_exact_sum **)>::value,
              "from_bytes");

namespace {

int failures = 0;

void expect(bool ok, const char *what, int line) {
    if (!ok) {
        std::fprintf(stderr, "%s:%d: expected %s (last error %d: %s)\n", __FILE__, line, what,
                     mylib_last_error(), mylib_last_error_message());
        ++failures;
    }
}
#define EXPECT(cond) expect((cond), #cond, __LINE__)

// Captures what `fn` writes to fd 1.
template <typename F>
std::string capture_stdout(F fn) {
    std::FILE *tmp = std::tmpfile();
    if (tmp == nullptr) return "<tmpfile failed>";
    std::fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    dup2(fileno(tmp), STDOUT_FILENO);
    fn();
    std::fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    std::rewind(tmp);
    std::string out;
    char buf[256];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, tmp)) > 0) out.append(buf, n);
    std::fclose(tmp);
    return out;
}

struct Accumulator {
    int calls = 0;
    int total = 0;
};

extern "C" int accumulate(void *user_data, int value, int *result_out) {
    auto *acc = static_cast<Accumulator *>(user_data);
    ++acc->calls;
    acc->total += value;
    *result_out = acc->total;
    return 0;
}

extern "C" int refuse(void *, int, int *) { return 3; }

extern "C" int triple(int v) { return 3 * v; }

}  // namespace

int main() {
    // add + last error
    EXPECT(add(5, 3) == 8);
    EXPECT(mylib_last_error() == MYLIB_OK);
    EXPECT(add(INT_MAX, 1) == INT_MIN);
    EXPECT(mylib_last_error() == MYLIB_ERR_OVERFLOW);
    EXPECT(mylib_last_error_message() != nullptr);
    EXPECT(std::strstr(mylib_last_error_message(), "overflow") != nullptr);
    EXPECT(add(-2, 2) == 0);
    EXPECT(std::string(mylib_last_error_message()) == "no error");

    // greet, print_point
    int code = -1;
    EXPECT(capture_stdout([&] { greet("C++"); code = mylib_last_error(); }) == "Hello, C++!\n");
    EXPECT(code == MYLIB_OK);
    EXPECT(capture_stdout([&] { greet(nullptr); code = mylib_last_error(); }).empty());
    EXPECT(code == MYLIB_ERR_NULL_POINTER);
    const Point p{-1, 2};
    EXPECT(capture_stdout([&] { print_point(&p); code = mylib_last_error(); }) == "Point(-1, 2)\n");
    EXPECT(code == MYLIB_OK);
    EXPECT(capture_stdout([&] { print_point(nullptr); code = mylib_last_error(); }).empty());
    EXPECT(code == MYLIB_ERR_NULL_POINTER);

    // sum_array
    const int ints[] = {INT_MAX, 1, -1};
    EXPECT(sum_array(ints, 3) == INT_MAX);
    EXPECT(mylib_last_error() == MYLIB_OK);
    EXPECT(sum_array(ints, 2) == INT_MIN);
    EXPECT(mylib_last_error() == MYLIB_ERR_OVERFLOW);
    EXPECT(sum_array(nullptr, 0) == 0 && mylib_last_error() == MYLIB_OK);
    EXPECT(sum_array(nullptr, 2) == 0 && mylib_last_error() == MYLIB_ERR_NULL_POINTER);
    EXPECT(sum_array(ints, -3) == 0 && mylib_last_error() == MYLIB_ERR_INVALID_LENGTH);

    // process (a captureless lambda converts to callback_t)
    EXPECT(process(triple, 14) == 42);
    EXPECT(process([](int v) { return v - 1; }, 43) == 42);
    EXPECT(process(nullptr, 1) == 0 && mylib_last_error() == MYLIB_ERR_MISSING_CALLBACK);

    // fast_sum
    const double ds[] = {1.0, 1e100, 1.0, -1e100};
    double r = -1.0;
    fast_sum(ds, 4, &r);
    EXPECT(r == 2.0 && mylib_last_error() == MYLIB_OK);
    r = 7.5;
    fast_sum(nullptr, 1, &r);
    EXPECT(r == 7.5 && mylib_last_error() == MYLIB_ERR_NULL_POINTER);
    fast_sum(ds, -1, &r);
    EXPECT(r == 7.5 && mylib_last_error() == MYLIB_ERR_INVALID_LENGTH);
    fast_sum(ds, 4, nullptr);
    EXPECT(mylib_last_error() == MYLIB_ERR_NULL_POINTER);

    // set_debug / mylib_get_debug (silence stderr while on)
    {
        std::fflush(stderr);
        int saved = dup(STDERR_FILENO);
        std::FILE *sink = std::tmpfile();
        EXPECT(sink != nullptr);
        if (sink != nullptr) {
            dup2(fileno(sink), STDERR_FILENO);
            set_debug(42);
            EXPECT(mylib_get_debug() == 1);
            EXPECT(add(5, 3) == 8);
            set_debug(0);
            dup2(saved, STDERR_FILENO);
            std::rewind(sink);
            char buf[256] = {};
            EXPECT(std::fread(buf, 1, sizeof buf - 1, sink) > 0);
            EXPECT(std::strstr(buf, "mylib: add(5, 3) -> 8") != nullptr);
            std::fclose(sink);
        }
        close(saved);
        EXPECT(mylib_get_debug() == 0);
    }

    // version, status strings
    const std::string expected_version = std::to_string(MYLIB_VERSION_MAJOR) + "." +
                                         std::to_string(MYLIB_VERSION_MINOR) + "." +
                                         std::to_string(MYLIB_VERSION_PATCH);
    EXPECT(mylib_version() != nullptr);
    EXPECT(expected_version == mylib_version());
    EXPECT(std::string(MYLIB_VERSION_STRING) == mylib_version());
    for (int c : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -1, 12, INT_MIN, INT_MAX}) {
        EXPECT(mylib_status_str(c) != nullptr);
    }
    EXPECT(std::string(mylib_status_str(MYLIB_OK)) != mylib_status_str(MYLIB_ERR_IO));

    // mylib_sum_i32 / mylib_sum_f64
    int64_t s64 = 0;
    EXPECT(mylib_sum_i32(ints, 2, &s64) == MYLIB_OK && s64 == int64_t{INT_MAX} + 1);
    s64 = 5;
    EXPECT(mylib_sum_i32(nullptr, 2, &s64) == MYLIB_ERR_NULL_POINTER && s64 == 5);
    EXPECT(mylib_sum_i32(ints, 2, nullptr) == MYLIB_ERR_NULL_POINTER);
    EXPECT(mylib_sum_i32(ints, SIZE_MAX, &s64) == MYLIB_ERR_INVALID_LENGTH && s64 == 5);
    double d = 0.0;
    EXPECT(mylib_sum_f64(ds, 4, &d) == MYLIB_OK && d == 2.0);
    d = 3.0;
    EXPECT(mylib_sum_f64(nullptr, 4, &d) == MYLIB_ERR_NULL_POINTER && d == 3.0);
    EXPECT(mylib_sum_f64(ds, 4, nullptr) == MYLIB_ERR_NULL_POINTER);
    EXPECT(mylib_sum_f64(ds, SIZE_MAX, &d) == MYLIB_ERR_INVALID_LENGTH && d == 3.0);

    // mylib_greeting / mylib_string_free
    char *g = nullptr;
    EXPECT(mylib_greeting("C++", &g) == MYLIB_OK);
    EXPECT(g != nullptr && std::string(g) == "Hello, C++!");
    mylib_string_free(g);
    g = nullptr;
    EXPECT(mylib_greeting(nullptr, &g) == MYLIB_ERR_NULL_POINTER && g == nullptr);
    EXPECT(mylib_greeting("x", nullptr) == MYLIB_ERR_NULL_POINTER);
    mylib_string_free(nullptr);

    // mylib_process with user_data
    Accumulator acc;
    int out = 0;
    EXPECT(mylib_process(accumulate, &acc, 40, &out) == MYLIB_OK && out == 40);
    EXPECT(mylib_process(accumulate, &acc, 2, &out) == MYLIB_OK && out == 42);
    EXPECT(acc.calls == 2);
    out = -9;
    EXPECT(mylib_process(refuse, nullptr, 1, &out) == MYLIB_ERR_CALLBACK_FAILED && out == -9);
    EXPECT(mylib_process(nullptr, &acc, 1, &out) == MYLIB_ERR_MISSING_CALLBACK);
    EXPECT(mylib_process(accumulate, &acc, 1, nullptr) == MYLIB_ERR_NULL_POINTER);
    EXPECT(acc.calls == 2 && out == -9);

    // mylib_sum_f64_strided: a 2 x 2 block of a 3 x 3 matrix, Fortran order
    {
        const double m[9] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
        const std::size_t shape[2] = {2, 2};
        const std::ptrdiff_t strides[2] = {8, 24};
        double s = 0.0;
        EXPECT(mylib_sum_f64_strided(m, 2, shape, strides, &s) == MYLIB_OK && s == 1 + 2 + 8 + 16);
        EXPECT(mylib_sum_f64_strided(m, 2, shape, nullptr, &s) == MYLIB_ERR_NULL_POINTER);
    }

    // mylib_exact_sum_*, owned by a unique_ptr with the library's own free function
    {
        struct Free {
            void operator()(mylib_exact_sum *a) const { mylib_exact_sum_free(a); }
        };
        using State = std::unique_ptr<mylib_exact_sum, Free>;
        mylib_exact_sum *raw = nullptr;
        EXPECT(mylib_exact_sum_new(&raw) == MYLIB_OK);
        State a(raw);
        const std::size_t shape[1] = {4};
        const std::ptrdiff_t strides[1] = {-8};
        EXPECT(mylib_exact_sum_add(a.get(), ds, 4) == MYLIB_OK);
        EXPECT(mylib_exact_sum_add_strided(a.get(), ds + 3, 1, shape, strides) == MYLIB_OK);
        EXPECT(mylib_exact_sum_add_value(a.get(), 0.5) == MYLIB_OK);
        EXPECT(mylib_exact_sum_merge(a.get(), a.get()) == MYLIB_OK);
        double s = 0.0;
        std::uint64_t n = 0;
        EXPECT(mylib_exact_sum_result(a.get(), &s) == MYLIB_OK && s == 9.0);
        EXPECT(mylib_exact_sum_count(a.get(), &n) == MYLIB_OK && n == 18);
        std::uint8_t bytes[MYLIB_EXACT_SUM_BYTES];
        EXPECT(mylib_exact_sum_to_bytes(a.get(), bytes, sizeof bytes) == MYLIB_OK);
        raw = nullptr;
        EXPECT(mylib_exact_sum_from_bytes(bytes, sizeof bytes, &raw) == MYLIB_OK);
        State b(raw);
        EXPECT(mylib_exact_sum_result(b.get(), &s) == MYLIB_OK && s == 9.0);
        EXPECT(mylib_exact_sum_reset(b.get()) == MYLIB_OK);
        EXPECT(mylib_exact_sum_from_bytes(bytes, 5, &raw) == MYLIB_ERR_BAD_FORMAT);
    }

    std::printf("header_cpp17: %s\n", failures == 0 ? "ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}
