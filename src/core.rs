//! The safe core: everything mylib computes, with no pointers and no C types.
//! The `extern "C"` layer in `capi.rs` only checks and converts its inputs
//! and calls these functions.

use crate::error::Error;
use crate::kernels;

/// `a + b` as C's `int` addition gives it in practice: the two's-complement
/// wrapped value, plus an overflow error when the exact sum does not fit.
pub fn add(a: i32, b: i32) -> Result<i32, (Error, i32)> {
    match a.checked_add(b) {
        Some(sum) => Ok(sum),
        None => Err((Error::Overflow("add"), a.wrapping_add(b))),
    }
}

/// The exact sum of `data`. Only fails (overflow) when the sum does not fit
/// `i64`, which needs more than 2^32 elements.
pub fn sum_i32_exact(data: &[i32]) -> Result<i64, Error> {
    kernels::sum_i32(data).ok_or(Error::Overflow("mylib_sum_i32"))
}

/// The sum of `data` as a C `int`: the wrapped value plus an overflow error
/// when the exact sum does not fit (tutorial `sum_array` semantics).
pub fn sum_i32_wrapping(data: &[i32]) -> Result<i32, (Error, i32)> {
    let exact = sum_i32_exact(data).map_err(|e| {
        // Cannot fit i64 either: report overflow; the wrapped value is the
        // wrapping sum, computed the slow way since this needs > 2^32 elements.
        let wrapped = data.iter().fold(0i32, |acc, &x| acc.wrapping_add(x));
        (e, wrapped)
    })?;
    match i32::try_from(exact) {
        Ok(v) => Ok(v),
        // Truncating the exact sum to 32 bits is the two's-complement wrapped sum.
        Err(_) => Err((Error::Overflow("sum_array"), exact as i32)),
    }
}

/// The exact sum of `data` rounded once to nearest, ties to even (see
/// `kernels`). An exact sum beyond the double range is an overflow error
/// (`function` names the caller in its message), with the infinity IEEE
/// rounding gives as the value.
pub fn sum_f64(data: &[f64], function: &'static str) -> Result<f64, (Error, f64)> {
    kernels::sum_f64(data).map_err(|o| (Error::SumOverflow(function), o.0))
}

/// [`sum_f64`] of any array (strided, n-dimensional, misaligned).
pub fn sum_values(values: kernels::Values, function: &'static str) -> Result<f64, (Error, f64)> {
    let split = kernels::Split::auto::<f64>(values.len());
    kernels::sum_values(kernels::Path::Auto, values, split)
        .0
        .map_err(|o| (Error::SumOverflow(function), o.0))
}

/// The greeting text, `Hello, <name>!`, as bytes, with room for `spare`
/// more bytes (so a caller can append a newline or a NUL without a second
/// allocation). The name's bytes are used as given (like C's `printf("%s")`):
/// they need not be UTF-8.
///
/// Its size depends on the input, so running out of memory is an error
/// (`NoMemory`), never an abort of the host process.
pub fn greeting(name: &[u8], spare: usize) -> Result<Vec<u8>, Error> {
    const HELLO: &[u8] = b"Hello, ";
    let bytes = HELLO
        .len()
        .saturating_add(name.len())
        .saturating_add(1)
        .saturating_add(spare);
    let mut text = Vec::new();
    text.try_reserve_exact(bytes).map_err(|_| Error::NoMemory {
        what: "the greeting",
        bytes,
    })?;
    text.extend_from_slice(HELLO);
    text.extend_from_slice(name);
    text.push(b'!');
    Ok(text)
}

/// The text `print_point` writes, without the newline.
pub fn point_text(x: i32, y: i32) -> String {
    format!("Point({x}, {y})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::tests::pow2;

    #[test]
    fn add_in_range_and_wrapping() {
        assert_eq!(add(5, 3), Ok(8));
        assert_eq!(add(-7, 2), Ok(-5));
        assert_eq!(add(i32::MAX, 0), Ok(i32::MAX));
        assert_eq!(add(i32::MAX, 1), Err((Error::Overflow("add"), i32::MIN)));
        assert_eq!(add(i32::MIN, -1), Err((Error::Overflow("add"), i32::MAX)));
        assert_eq!(add(i32::MIN, i32::MIN), Err((Error::Overflow("add"), 0)));
    }

    #[test]
    fn sums_of_ints() {
        assert_eq!(sum_i32_exact(&[]), Ok(0));
        assert_eq!(sum_i32_exact(&[1, 2, 3]), Ok(6));
        assert_eq!(sum_i32_exact(&[i32::MAX, i32::MAX]), Ok(2 * i32::MAX as i64));
        assert_eq!(sum_i32_wrapping(&[1, 2, 3, 4]), Ok(10));
        assert_eq!(
            sum_i32_wrapping(&[i32::MAX, 1]),
            Err((Error::Overflow("sum_array"), i32::MIN))
        );
        // Overflow on the way that cancels out is no overflow: the exact sum fits.
        assert_eq!(sum_i32_wrapping(&[i32::MAX, 1, -1]), Ok(i32::MAX));
        let big = vec![i32::MIN; 1000];
        assert_eq!(
            sum_i32_wrapping(&big),
            Err((
                Error::Overflow("sum_array"),
                big.iter().fold(0i32, |a, &x| a.wrapping_add(x))
            ))
        );
    }

    #[test]
    fn sum_of_doubles_is_exact() {
        assert_eq!(sum_f64(&[], "f"), Ok(0.0));
        assert_eq!(sum_f64(&[0.1; 10], "f"), Ok(1.0));
        assert_eq!(sum_f64(&[1.0, 1e100, 1.0, -1e100], "f"), Ok(2.0));
        assert_eq!(sum_f64(&[pow2(53), 1.0, pow2(-60)], "f"), Ok(pow2(53) + 2.0));
        assert_eq!(
            sum_f64(&[f64::MAX, f64::MAX], "f"),
            Err((Error::SumOverflow("f"), f64::INFINITY))
        );
    }

    #[test]
    fn texts() {
        assert_eq!(greeting(b"World", 0).unwrap(), b"Hello, World!");
        assert_eq!(greeting(b"", 0).unwrap(), b"Hello, !");
        assert_eq!(greeting(b"\xff\xfe", 0).unwrap(), b"Hello, \xff\xfe!");
        assert_eq!(point_text(3, -4), "Point(3, -4)");
        assert_eq!(point_text(i32::MIN, i32::MAX), "Point(-2147483648, 2147483647)");
    }

    #[test]
    fn greeting_has_room_for_what_the_caller_appends() {
        for spare in [0, 1, 5] {
            let text = greeting(b"World", spare).unwrap();
            assert!(text.capacity() >= text.len() + spare);
        }
    }

    #[test]
    fn greeting_too_large_for_memory_is_an_error() {
        // A request no allocator can meet (more than isize::MAX bytes) is
        // refused the same way as an exhausted heap; no name of that size
        // exists, so the spare room makes the request.
        let err = greeting(b"World", usize::MAX - 4).unwrap_err();
        assert_eq!(
            err,
            Error::NoMemory {
                what: "the greeting",
                bytes: usize::MAX
            }
        );
    }
}
