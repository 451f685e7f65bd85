//! Replays every saved fuzz input (fuzz/regressions/<target>/*) through the
//! check of its target, on stable Rust. Inputs that ever found a bug live
//! there for good; `make test` runs this.
//!
//! One test function: the checks capture fd 1 and fd 2 of the process, which
//! must not happen while libtest runs other tests in parallel.

use std::fs;
use std::path::Path;

type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 5] = [
    ("sum_i32", mylib_fuzz_check::check_sum_i32),
    ("sum_f64", mylib_fuzz_check::check_sum_f64),
    ("exact_sum", mylib_fuzz_check::check_exact_sum),
    ("strings", mylib_fuzz_check::check_strings),
    ("sequence", mylib_fuzz_check::check_sequence),
];

#[test]
fn replay_saved_inputs() {
    every_target_is_replayed();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../regressions");
    let mut replayed = 0;
    for (target, check) in TARGETS {
        let dir = root.join(target);
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{}: no saved inputs", dir.display());
        for file in files {
            let data = fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{target}: {} fails", file.display());
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} saved inputs");
}

/// Every fuzz target has a check here, and every check a target.
fn every_target_is_replayed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz_targets");
    let mut targets: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    targets.sort();
    let mut known: Vec<String> = TARGETS.iter().map(|(t, _)| t.to_string()).collect();
    known.sort();
    assert_eq!(targets, known);
}
