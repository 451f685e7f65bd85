//! greet / print_point through C's stdout: exact bytes, failures as MYLIB_ERR_IO,
//! and no SIGPIPE death. One test function, because it rewires fd 1 of the
//! whole test process.

// Not under Miri: C stdio (fwrite/fflush on the C runtime's `stdout`) and
// signal masks are foreign calls Miri cannot run.
#![cfg(all(target_os = "linux", not(miri)))]

use std::ffi::c_int;
use std::io::Read;
use std::os::fd::FromRawFd;

use mylib::*;

const IO: c_int = MylibStatus::MylibErrIo as c_int;

/// Runs `f` with fd 1 redirected; returns what it wrote (or None if `keep_reader` is false).
fn with_stdout_pipe(keep_reader: bool, f: impl FnOnce()) -> Option<Vec<u8>> {
    // SAFETY: plain POSIX calls on fds this function owns; fd 1 is restored.
    unsafe {
        let mut fds = [0 as c_int; 2];
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        let saved = libc::dup(1);
        assert!(saved >= 0);
        libc::dup2(fds[1], 1);
        libc::close(fds[1]);
        if !keep_reader {
            libc::close(fds[0]);
        }
        f();
        libc::dup2(saved, 1);
        libc::close(saved);
        if keep_reader {
            let mut out = Vec::new();
            std::fs::File::from_raw_fd(fds[0]).read_to_end(&mut out).unwrap();
            Some(out)
        } else {
            None
        }
    }
}

#[test]
fn printing_to_stdout() {
    // SAFETY: the whole test passes valid C strings and Points; signal() with SIG_DFL.
    unsafe {
        let out = with_stdout_pipe(true, || {
            greet(c"World".as_ptr());
            assert_eq!(mylib_last_error(), 0);
            greet(c"\xff\xfe".as_ptr());
            print_point(&Point { x: -3, y: 4 });
            print_point(&Point {
                x: c_int::MIN,
                y: c_int::MAX,
            });
            assert_eq!(mylib_greet(c"twin".as_ptr()), 0);
            assert_eq!(mylib_print_point(&Point { x: 5, y: -6 }), 0);
        })
        .unwrap();
        assert_eq!(
            out,
            b"Hello, World!\nHello, \xff\xfe!\nPoint(-3, 4)\nPoint(-2147483648, 2147483647)\nHello, twin!\nPoint(5, -6)\n"
        );

        // A pipe with no reader: EPIPE, reported as MYLIB_ERR_IO, and the
        // default SIGPIPE action (termination) must not fire.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        with_stdout_pipe(false, || {
            greet(c"nobody".as_ptr());
            let code = mylib_last_error();
            print_point(&Point { x: 1, y: 2 });
            let code2 = mylib_last_error();
            assert_eq!((code, code2), (IO, IO));
            assert_eq!(mylib_greet(c"nobody".as_ptr()), IO);
            assert_eq!(mylib_print_point(&Point { x: 1, y: 2 }), IO);
        });
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);

        // A closed stdout: EBADF, MYLIB_ERR_IO.
        let saved = libc::dup(1);
        libc::close(1);
        greet(c"closed".as_ptr());
        let code = mylib_last_error();
        libc::dup2(saved, 1);
        libc::close(saved);
        assert_eq!(code, IO);
    }
}
