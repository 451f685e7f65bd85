//! mylib benchmarks from Rust, calling the library directly (no FFI loader):
//! the exported functions for add/process, and each kernel path for the sums.
//! Prints one JSON object; `bench/run.py` puts it in the table.
//!
//!     cargo run --release --example bench_direct -- 1000 100000 10000000

use std::ffi::c_int;
use std::hint::black_box;
use std::time::Instant;

use mylib::kernels::{Path, sum_f64_with, sum_i32_with};

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
    println!("  }}\n}}");
}
