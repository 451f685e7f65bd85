//! The threads of the large sums, through the C API: the setting and its
//! validation, `MYLIB_NUM_THREADS` (each case in a fresh process, since the
//! environment is read once), the same bits for every thread count, a worker
//! panic as `MYLIB_ERR_PANIC`, and the fallback when threads cannot be made.
//!
//! Not under Miri: threads start at 4 MiB of data (millions of elements to
//! interpret) and the environment cases run child processes. Miri runs the
//! threaded path on small explicit splits instead (`parallel::tests`,
//! `kernels::tests::small_threaded_sums`, in `make test-miri`).
#![cfg(not(miri))]

use std::ffi::{CStr, c_int};
use std::process::Command;
use std::sync::Mutex;

use mylib::*;

#[path = "common/exact.rs"]
mod exact;

const OK: c_int = MylibStatus::MylibOk as c_int;
const INVALID_LENGTH: c_int = MylibStatus::MylibErrInvalidLength as c_int;

/// Held by the tests that change the process-wide setting.
static SETTING: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SETTING.lock().unwrap_or_else(|e| e.into_inner())
}

fn last_message() -> String {
    // SAFETY: mylib_last_error_message never returns NULL.
    unsafe { CStr::from_ptr(mylib_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

/// Deterministic data (xorshift): doubles that cancel (huge values and their
/// exact negations, shuffled, among values of order 1: the exact sum lies
/// far below the partial sums, so the certificate fails and the exact path
/// runs on the threads; a sum rounded per block or per thread would depend
/// on the thread count), and random ints.
fn data(n: usize, seed: u64) -> (Vec<f64>, Vec<c_int>) {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut unit = || (next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
    let huge: Vec<f64> = (0..n / 3).map(|_| unit() * 1e20).collect();
    let mut f: Vec<f64> = huge.iter().map(|&h| -h).chain(huge.iter().copied()).collect();
    f.extend((f.len()..n).map(|_| unit()));
    for k in (1..n).rev() {
        f.swap(k, (next() % (k as u64 + 1)) as usize);
    }
    let i = (0..n).map(|_| next() as c_int).collect();
    (f, i)
}

/// (mylib_sum_f64 bits, fast_sum bits, mylib_sum_i32, sum_array, its status)
fn all_sums(f: &[f64], i: &[c_int]) -> (u64, u64, i64, c_int, c_int) {
    let (mut a, mut b, mut s) = (0.0f64, 0.0f64, 0i64);
    // SAFETY: valid slices and out-pointers.
    unsafe {
        assert_eq!(mylib_sum_f64(f.as_ptr(), f.len(), &mut a), OK);
        fast_sum(f.as_ptr(), c_int::try_from(f.len()).unwrap(), &mut b);
        assert_eq!(mylib_last_error(), OK);
        assert_eq!(mylib_sum_i32(i.as_ptr(), i.len(), &mut s), OK);
        let w = sum_array(i.as_ptr(), c_int::try_from(i.len()).unwrap());
        (a.to_bits(), b.to_bits(), s, w, mylib_last_error())
    }
}

#[test]
fn set_and_get_num_threads() {
    let _g = lock();
    let default = mylib_get_num_threads();
    assert!((1..=1024).contains(&default));
    for n in [1, 2, 7, 1024] {
        assert_eq!(mylib_set_num_threads(n), OK);
        assert_eq!(mylib_get_num_threads(), n);
    }
    for bad in [-1, c_int::MIN, 1025, c_int::MAX] {
        assert_eq!(mylib_set_num_threads(bad), INVALID_LENGTH, "{bad}");
        assert_eq!(mylib_last_error(), INVALID_LENGTH);
        assert_eq!(last_message(), format!("invalid length for n: {bad}"));
        assert_eq!(mylib_get_num_threads(), 1024, "a refused value changes nothing");
    }
    assert_eq!(mylib_set_num_threads(0), OK);
    assert_eq!(mylib_get_num_threads(), default);
    assert_eq!(mylib_last_error(), OK);
}

#[test]
fn every_thread_count_gives_the_same_results() {
    let _g = lock();
    // Around the 4 MiB threshold of the doubles and of the ints, and a size
    // that is no multiple of the block.
    for n in [524_287usize, 524_288, 1_048_577, 3 * 65_536 * 5 + 13] {
        let (cancelling, i) = data(n, n as u64);
        // And values of one sign: the certified pass decides, on the threads.
        let easy: Vec<f64> = cancelling.iter().map(|x| x.abs() % 8.0).collect();
        for f in [cancelling, easy] {
            assert_eq!(mylib_set_num_threads(1), OK);
            let want = all_sums(&f, &i);
            assert_eq!(want.0, want.1, "fast_sum and mylib_sum_f64 agree");
            let exact = exact::expected(&f);
            assert!(
                exact.matches(Ok(f64::from_bits(want.0))),
                "n={n}: {want:?}, exact {exact:?}"
            );
            assert_eq!(want.2, i.iter().map(|&x| i64::from(x)).sum::<i64>());
            for t in [2, 3, 4, 8, 16] {
                assert_eq!(mylib_set_num_threads(t), OK);
                assert_eq!(all_sums(&f, &i), want, "n={n} threads={t}");
            }
        }
    }
    assert_eq!(mylib_set_num_threads(0), OK);
}

#[cfg(feature = "test-panic")]
#[test]
fn a_panic_in_a_worker_is_a_status_not_an_abort() {
    let _g = lock();
    let (f, i) = data(1 << 21, 9);
    assert_eq!(mylib_set_num_threads(4), OK);
    let want = all_sums(&f, &i);
    let (mut d, mut s) = (-1.0f64, -1i64);
    mylib::parallel::test_panic_in_block(Some(17));
    // SAFETY: valid slices and out-pointers.
    let (rf, ri, ra) = unsafe {
        (
            mylib_sum_f64(f.as_ptr(), f.len(), &mut d),
            mylib_sum_i32(i.as_ptr(), i.len(), &mut s),
            sum_array(i.as_ptr(), c_int::try_from(i.len()).unwrap()),
        )
    };
    mylib::parallel::test_panic_in_block(None);
    let panic = MylibStatus::MylibErrPanic as c_int;
    assert_eq!((rf, ri), (panic, panic));
    assert_eq!((d, s), (-1.0, -1), "nothing written");
    assert_eq!((ra, mylib_last_error()), (0, panic));
    assert_eq!(last_message(), "panic inside mylib: test panic in block 17");
    // Works again afterwards.
    assert_eq!(all_sums(&f, &i), want);
    assert_eq!(mylib_set_num_threads(0), OK);
}

#[cfg(feature = "test-panic")]
#[test]
fn refused_threads_fall_back_to_fewer() {
    let _g = lock();
    let (f, i) = data(1 << 21, 4);
    assert_eq!(mylib_set_num_threads(1), OK);
    let want = all_sums(&f, &i);
    assert_eq!(mylib_set_num_threads(8), OK);
    for limit in [0, 1, 2] {
        mylib::parallel::test_spawn_limit(Some(limit));
        let got = all_sums(&f, &i);
        mylib::parallel::test_spawn_limit(None);
        assert_eq!(got, want, "at most {limit} worker threads");
    }
    assert_eq!(mylib_set_num_threads(0), OK);
}

// ------------------------------------------------------------ in a fresh process

/// Runs the test `name` of this binary alone in a child process with `env`
/// set (and `MYLIB_THREADS_CHILD=1`); returns its stdout and stderr. When the
/// tests run under an emulator, `MYLIB_TEST_RUNNER` names it (e.g.
/// `qemu-aarch64 -L /usr/aarch64-linux-gnu`) and the child runs under it too.
fn child(name: &str, env: &[(&str, &str)]) -> (String, String) {
    let exe = std::env::current_exe().unwrap();
    let runner = std::env::var("MYLIB_TEST_RUNNER").unwrap_or_default();
    let mut runner = runner.split_whitespace();
    let mut cmd = match runner.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(runner).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("MYLIB_THREADS_CHILD", "1")
        .env_remove("MYLIB_NUM_THREADS")
        .env_remove("MYLIB_DEBUG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the test binary");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "child {name} failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

fn in_child() -> bool {
    std::env::var_os("MYLIB_THREADS_CHILD").is_some()
}

/// Child: prints the thread count the library starts with.
#[test]
fn child_report_threads() {
    if in_child() {
        println!("threads={}", mylib_get_num_threads());
    }
}

fn reported(env: &[(&str, &str)]) -> (usize, String) {
    let (out, err) = child("child_report_threads", env);
    (threads_in(&out), err)
}

/// The `N` of `threads=N` in a child's output (libtest may print the
/// test's name on the same line).
fn threads_in(out: &str) -> usize {
    let tail = out.split("threads=").nth(1).expect("the child reports");
    tail.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn environment_variable() {
    let cpus = std::thread::available_parallelism().unwrap().get().min(1024);
    assert_eq!(reported(&[]).0, cpus, "unset: the CPUs available");
    for (value, want) in [
        ("3", 3),
        (" 5\n", 5),
        ("1", 1),
        ("1024", 1024),
        ("0", cpus),
        ("", cpus),
        ("-2", cpus),
        ("1025", cpus),
        ("abc", cpus),
        ("2 threads", cpus),
        ("+4", cpus),
    ] {
        assert_eq!(reported(&[("MYLIB_NUM_THREADS", value)]).0, want, "{value:?}");
    }
    // An ignored value is reported when debug logging is on.
    let (_, err) = reported(&[("MYLIB_NUM_THREADS", "lots"), ("MYLIB_DEBUG", "1")]);
    assert!(err.contains("MYLIB_NUM_THREADS=\"lots\" ignored"), "{err}");
    let (_, err) = reported(&[("MYLIB_NUM_THREADS", "3"), ("MYLIB_DEBUG", "1")]);
    assert!(!err.contains("ignored"), "{err}");
}

/// Child: the environment is read once; `mylib_set_num_threads(0)` returns to it.
#[test]
fn child_env_then_setting() {
    if in_child() {
        assert_eq!(mylib_get_num_threads(), 3);
        // SAFETY: this child process runs this one test, on one thread.
        unsafe { std::env::set_var("MYLIB_NUM_THREADS", "6") };
        assert_eq!(mylib_get_num_threads(), 3, "read once");
        assert_eq!(mylib_set_num_threads(5), OK);
        assert_eq!(mylib_get_num_threads(), 5);
        assert_eq!(mylib_set_num_threads(0), OK);
        assert_eq!(mylib_get_num_threads(), 3);
        println!("child ok");
    }
}

#[test]
fn setting_overrides_the_environment() {
    let (out, _) = child("child_env_then_setting", &[("MYLIB_NUM_THREADS", "3")]);
    assert!(out.contains("child ok"), "{out}");
}

/// Child: with the affinity mask cut to one CPU before the first use, the
/// default is 1.
#[cfg(target_os = "linux")]
#[test]
fn child_affinity() {
    if in_child() {
        // SAFETY: a zeroed cpu_set_t is valid; CPU_SET on index 0 is in range;
        // the calls get valid pointers and the set's size.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            assert_eq!(libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set), 0);
            let first = (0..libc::CPU_SETSIZE as usize)
                .find(|&c| libc::CPU_ISSET(c, &set))
                .unwrap();
            libc::CPU_ZERO(&mut set);
            libc::CPU_SET(first, &mut set);
            assert_eq!(libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set), 0);
        }
        println!("threads={}", mylib_get_num_threads());
    }
}

#[cfg(target_os = "linux")]
#[test]
fn default_follows_the_affinity_mask() {
    let (out, _) = child("child_affinity", &[]);
    assert_eq!(threads_in(&out), 1, "{out}");
}

/// Child: under an address-space limit that leaves no room for a thread
/// stack, the operating system refuses every thread; the sums still succeed
/// on the calling thread, with the same results.
#[cfg(target_os = "linux")]
#[test]
fn child_rlimit() {
    if !in_child() {
        return;
    }
    let (f, i) = data(1 << 21, 77);
    assert_eq!(mylib_set_num_threads(1), OK);
    let want = all_sums(&f, &i);
    assert_eq!(mylib_set_num_threads(8), OK);
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    let limit = libc::rlimit {
        rlim_cur: pages * page + (1 << 20),
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a valid rlimit struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) }, 0);
    let probe = std::thread::Builder::new().spawn(|| ());
    assert!(probe.is_err(), "the limit must refuse a thread");
    drop(probe);
    let got = all_sums(&f, &i);
    assert_eq!(got, want);
    println!("child ok");
}

#[cfg(target_os = "linux")]
#[test]
fn threads_refused_by_the_os_fall_back() {
    let (out, _) = child("child_rlimit", &[]);
    assert!(out.contains("child ok"), "{out}");
}
