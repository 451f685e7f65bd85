//! mylib benchmarks from Rust, calling the library directly (no FFI loader):
//! the exported functions for add/process, each kernel path for the sums,
//! and the exact sum on one thread beside the xsum crate (Neal's
//! superaccumulators, the exact peer). Prints one JSON object;
//! `bench/run.py` puts it in the table.
//!
//!     cargo run --release --example bench_direct -- 1000 100000 10000000

use std::ffi::c_int;
use std::hint::black_box;
use std::time::Instant;

use mylib::kernels::{Path, Split, sum_f64_split, sum_f64_with, sum_i32_with};
use xsum::{Xsum, XsumLarge, XsumSmall};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Seconds per call of `f`: medians of 7 samples of at least ~20 ms.
fn per_call(bytes_hint: usize, mut f: impl FnMut()) -> f64 {
    let inner = (50_000_000 / (bytes_hint + 1)).max(1);
    median(
        (0..7)
            .map(|_| {
                let t0 = Instant::now();
                for _ in 0..inner {
                    f();
                }
                t0.elapsed().as_secs_f64() / inner as f64
            })
            .collect(),
    )
}

unsafe extern "C" fn square(x: c_int) -> c_int {
    x.wrapping_mul(x)
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse::<f64>().expect("sizes are numbers") as usize)
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 100_000, 10_000_000]
    } else {
        sizes
    };

    let calls = 20_000_000;
    let add_ns = per_call(usize::MAX / 2, || {
        let mut acc = 0;
        for i in 0..calls {
            acc += mylib::add(black_box(i & 1023), 3);
        }
        black_box(acc);
    }) / calls as f64
        * 1e9;
    let process_ns = per_call(usize::MAX / 2, || {
        let mut acc = 0;
        for i in 0..calls {
            // SAFETY: `square` is a valid callback.
            acc += unsafe { mylib::process(black_box(Some(square)), black_box(i & 1023)) };
        }
        black_box(acc);
    }) / calls as f64
        * 1e9;

    println!("{{");
    println!("  \"rust_add_ns\": {add_ns:.2},");
    println!("  \"rust_process_ns\": {process_ns:.2},");
    println!("  \"best_path\": \"{}\",", Path::best().name());
    println!("  \"sizes\": {{");
    for (si, &n) in sizes.iter().enumerate() {
        let f: Vec<f64> = (0..n).map(|i| (i % 1000) as f64 * 0.001).collect();
        let v: Vec<i32> = (0..n).map(|i| (i % 2001) as i32 - 1000).collect();
        let mut fields = Vec::new();
        for p in Path::available() {
            let tf = per_call(n * 8, || {
                black_box(sum_f64_with(p, black_box(&f)).ok());
            });
            let ti = per_call(n * 4, || {
                black_box(sum_i32_with(p, black_box(&v)));
            });
            fields.push(format!("\"rust_f64_{}\": {:.3}", p.name(), (n * 8) as f64 / tf / 1e9));
            fields.push(format!("\"rust_i32_{}\": {:.3}", p.name(), (n * 4) as f64 / ti / 1e9));
        }
        let comma = if si + 1 < sizes.len() { "," } else { "" };
        println!("    \"{n}\": {{{}}}{comma}", fields.join(", "));
    }
    println!("  }},");
    println!("  \"exact\": {{");
    let cases = exact_cases();
    for (ci, (name, data)) in cases.iter().enumerate() {
        let n = data.len();
        let one_thread = Split {
            block: mylib::kernels::BLOCK,
            threads: 1,
            min_per_thread: 1,
        };
        let mine = sum_f64_split(Path::Auto, data, one_thread).map_err(|o| o.0);
        let mut s = XsumSmall::default();
        s.add_list(data);
        let small = s.sum();
        let agree = mine == Ok(small) || (mine.is_ok_and(f64::is_nan) && small.is_nan());
        let ns = |t: f64| t / n as f64 * 1e9;
        let t_mine = per_call(n * 8, || {
            black_box(sum_f64_split(Path::Auto, black_box(data), one_thread).ok());
        });
        let t_small = per_call(n * 8, || {
            let mut s = XsumSmall::default();
            s.add_list(black_box(data));
            black_box(s.sum());
        });
        let t_large = per_call(n * 8, || {
            let mut s = XsumLarge::default();
            s.add_list(black_box(data));
            black_box(s.sum());
        });
        let comma = if ci + 1 < cases.len() { "," } else { "" };
        println!(
            "    \"{name}\": {{\"n\": {n}, \"mylib_ns\": {:.4}, \"xsum_small_ns\": {:.4}, \"xsum_large_ns\": {:.4}, \"same_bits_as_xsum_small\": {agree}}}{comma}",
            ns(t_mine),
            ns(t_small),
            ns(t_large)
        );
    }
    println!("  }}\n}}");
}

/// The exact-sum cases: typical data (standard normal) and adversarial data
/// (exponents over the whole double range, random signs, every value and its
/// negation shuffled, plus a small remainder: a condition number far beyond
/// 1e30), in cache and out of it.
fn exact_cases() -> Vec<(String, Vec<f64>)> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut unit = move || (next() >> 11) as f64 / (1u64 << 53) as f64;
    let mut cases = Vec::new();
    for n in [1_000usize, 100_000, 10_000_000] {
        let normal: Vec<f64> = (0..n)
            .map(|_| {
                let (u1, u2) = (1.0 - unit(), unit());
                (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
            })
            .collect();
        cases.push((format!("normal {n:.0e}"), normal));
    }
    for n in [100_000usize, 10_000_000] {
        let half: Vec<f64> = (0..n / 2)
            .map(|_| {
                let e = (unit() * 2000.0) as i32 - 1000;
                let sign = if unit() < 0.5 { -1.0 } else { 1.0 };
                sign * (1.0 + unit()) * 2f64.powi(e)
            })
            .collect();
        let mut v: Vec<f64> = half.iter().flat_map(|&x| [x, -x]).collect();
        v.push(3.0e-200);
        for i in (1..v.len()).rev() {
            let j = (unit() * (i + 1) as f64) as usize;
            v.swap(i, j.min(i));
        }
        cases.push((format!("adversarial {n:.0e}"), v));
    }
    cases
}
