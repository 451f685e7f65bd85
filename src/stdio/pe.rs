//! Which C runtime a Windows executable prints with, from its PE import table.
//!
//! Safe code over the bytes of an image *as the loader maps it* (every address
//! in it is an RVA, i.e. an offset into that mapping). On Windows
//! `stdio::windows` hands it the running executable; the tests build images
//! by hand, so this runs and is tested on every platform.

/// The C runtime whose `stdout` is the host's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostCrt {
    /// The Universal CRT (`ucrtbase.dll`): MSVC since 2015, mingw-w64 UCRT
    /// toolchains, CPython. Executables import it as `ucrtbase.dll` or through
    /// the `api-ms-win-crt-*` API sets.
    Ucrt,
    /// `msvcrt.dll`: mingw-w64's default (Debian's, and what mylib.dll itself
    /// links), and the fallback for an executable that imports no C runtime
    /// DLL (a statically linked CRT, whose `stdout` no DLL can reach).
    Msvcrt,
}

/// The C runtime an executable importing `dlls` prints with: the one whose
/// stdio it imports (the UCRT's is `api-ms-win-crt-stdio-*` or `ucrtbase.dll`
/// itself); else msvcrt.dll if it imports that; else the UCRT if it imports
/// any of it (a launcher such as python.exe, whose DLLs do the printing);
/// else msvcrt.dll.
pub fn host_crt<S: AsRef<str>>(dlls: &[S]) -> HostCrt {
    let names: Vec<String> = dlls.iter().map(|d| d.as_ref().to_ascii_lowercase()).collect();
    let any = |pred: &dyn Fn(&str) -> bool| names.iter().any(|n| pred(n));
    let ucrt_itself = |n: &str| n == "ucrtbase.dll" || n == "ucrtbased.dll";
    if any(&|n| ucrt_itself(n) || n.starts_with("api-ms-win-crt-stdio-")) {
        HostCrt::Ucrt
    } else if any(&|n| n == "msvcrt.dll") {
        HostCrt::Msvcrt
    } else if any(&|n| n.starts_with("api-ms-win-crt-")) {
        HostCrt::Ucrt
    } else {
        HostCrt::Msvcrt
    }
}

/// The names of the DLLs a mapped PE image imports, in table order; `None`
/// when the bytes are not a well-formed image (nothing is read out of bounds).
pub fn imported_dlls(image: &[u8]) -> Option<Vec<String>> {
    const PE32: u16 = 0x10b;
    const PE32_PLUS: u16 = 0x20b;
    const DESCRIPTOR: usize = 20;
    // More import descriptors than any real image has: a bound for a table
    // whose terminator is missing.
    const MAX_DESCRIPTORS: usize = 4096;

    if image.get(..2)? != b"MZ" {
        return None;
    }
    let nt = read_u32(image, 0x3c)? as usize;
    if image.get(nt..nt.checked_add(4)?)? != b"PE\0\0" {
        return None;
    }
    let optional_size = usize::from(read_u16(image, nt.checked_add(20)?)?);
    let optional = nt.checked_add(24)?;
    let (count_at, dirs_at) = match read_u16(image, optional)? {
        PE32 => (92, 96),
        PE32_PLUS => (108, 112),
        _ => return None,
    };
    // The import directory is data directory 1.
    let import_entry = dirs_at + 8;
    if read_u32(image, optional + count_at)? < 2 || import_entry + 8 > optional_size {
        return None;
    }
    let table = read_u32(image, optional + import_entry)? as usize;
    if table == 0 {
        return Some(Vec::new());
    }
    let mut names = Vec::new();
    for i in 0..MAX_DESCRIPTORS {
        let desc = table.checked_add(i.checked_mul(DESCRIPTOR)?)?;
        let entry = image.get(desc..desc.checked_add(DESCRIPTOR)?)?;
        if entry.iter().all(|&b| b == 0) {
            return Some(names);
        }
        let name_at = read_u32(entry, 12)? as usize;
        let tail = image.get(name_at..)?;
        let len = tail.iter().position(|&b| b == 0)?;
        names.push(String::from_utf8_lossy(&tail[..len]).into_owned());
    }
    None
}

/// SizeOfImage from the first bytes (`headers`) of a mapped image: how many
/// bytes from its base the loader mapped. `None` unless the signatures are
/// there and the size covers `headers`.
pub fn size_of_image(headers: &[u8]) -> Option<usize> {
    if headers.get(..2)? != b"MZ" {
        return None;
    }
    let nt = read_u32(headers, 0x3c)? as usize;
    if headers.get(nt..nt.checked_add(4)?)? != b"PE\0\0" {
        return None;
    }
    // Offset 56 of the optional header in PE32 and PE32+ alike.
    let size = read_u32(headers, nt.checked_add(24 + 56)?)? as usize;
    (size >= headers.len()).then_some(size)
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NT: usize = 0x80;
    const TABLE: usize = 0x400;

    fn put_u16(image: &mut [u8], at: usize, v: u16) {
        image[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }
    fn put_u32(image: &mut [u8], at: usize, v: u32) {
        image[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// A mapped image (PE32+ or PE32) importing `dlls`, laid out the way a
    /// linker lays it out: headers, then the descriptor table, then the names.
    fn image(pe32_plus: bool, dlls: &[&str]) -> Vec<u8> {
        let mut img = vec![0u8; 0x1000];
        img[..2].copy_from_slice(b"MZ");
        put_u32(&mut img, 0x3c, NT as u32);
        img[NT..NT + 4].copy_from_slice(b"PE\0\0");
        let optional = NT + 24;
        let (magic, size, count_at, dirs_at) = if pe32_plus {
            (0x20b, 240, 108, 112)
        } else {
            (0x10b, 224, 92, 96)
        };
        put_u16(&mut img, NT + 20, size);
        put_u16(&mut img, optional, magic);
        put_u32(&mut img, optional + count_at, 16);
        put_u32(&mut img, optional + dirs_at + 8, TABLE as u32);
        put_u32(&mut img, optional + dirs_at + 12, ((dlls.len() + 1) * 20) as u32);
        let mut name_at = 0x800;
        for (i, dll) in dlls.iter().enumerate() {
            let desc = TABLE + 20 * i;
            put_u32(&mut img, desc, 0x900 + i as u32); // import lookup table (not read)
            put_u32(&mut img, desc + 12, name_at as u32);
            put_u32(&mut img, desc + 16, 0xa00 + i as u32); // import address table (not read)
            img[name_at..name_at + dll.len()].copy_from_slice(dll.as_bytes());
            name_at += dll.len() + 1;
        }
        img
    }

    #[test]
    fn reads_the_import_table_of_pe32_plus_and_pe32() {
        let dlls = ["KERNEL32.dll", "api-ms-win-crt-stdio-l1-1-0.dll", "mylib.dll"];
        for pe32_plus in [true, false] {
            assert_eq!(imported_dlls(&image(pe32_plus, &dlls)).unwrap(), dlls);
        }
        assert_eq!(imported_dlls(&image(true, &[])).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn no_import_directory_is_no_imports() {
        let mut img = image(true, &["msvcrt.dll"]);
        put_u32(&mut img, NT + 24 + 112 + 8, 0);
        assert_eq!(imported_dlls(&img).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn malformed_images_are_refused_without_reading_out_of_bounds() {
        let good = image(true, &["msvcrt.dll"]);
        let mut cases: Vec<Vec<u8>> = vec![
            Vec::new(),
            good[..0x3e].to_vec(),       // cut inside e_lfanew
            good[..NT + 30].to_vec(),    // cut inside the optional header
            good[..TABLE + 10].to_vec(), // cut inside a descriptor
            good[..0x805].to_vec(),      // cut inside the name, before its NUL
        ];
        let mut bad = good.clone();
        bad[0] = b'X'; // not MZ
        cases.push(bad);
        let mut bad = good.clone();
        put_u32(&mut bad, 0x3c, u32::MAX); // e_lfanew far outside
        cases.push(bad);
        let mut bad = good.clone();
        bad[NT + 2] = b'X'; // not PE\0\0
        cases.push(bad);
        let mut bad = good.clone();
        put_u16(&mut bad, NT + 24, 0x107); // a ROM image, not PE32/PE32+
        cases.push(bad);
        let mut bad = good.clone();
        put_u32(&mut bad, NT + 24 + 108, 1); // no import directory slot
        cases.push(bad);
        let mut bad = good.clone();
        put_u16(&mut bad, NT + 20, 100); // optional header too small for it
        cases.push(bad);
        let mut bad = good.clone();
        put_u32(&mut bad, NT + 24 + 112 + 8, u32::MAX - 3); // table outside, overflowing
        cases.push(bad);
        let mut bad = good.clone();
        put_u32(&mut bad, TABLE + 12, 0x1000); // name just past the end
        cases.push(bad);
        for (i, case) in cases.iter().enumerate() {
            assert_eq!(imported_dlls(case), None, "case {i}");
        }
    }

    #[test]
    fn a_table_without_terminator_is_refused() {
        // Every descriptor non-zero up to the end of the image.
        let mut img = image(true, &["msvcrt.dll"]);
        let mut at = TABLE + 20;
        while at + 20 <= img.len() {
            put_u32(&mut img, at + 12, 0x800);
            at += 20;
        }
        assert_eq!(imported_dlls(&img), None);
    }

    #[test]
    fn size_of_image_checks_the_headers() {
        let mut img = image(true, &["msvcrt.dll"]);
        put_u32(&mut img, NT + 24 + 56, 0x5000);
        assert_eq!(size_of_image(&img), Some(0x5000));
        put_u32(&mut img, NT + 24 + 56, 0x10); // smaller than the headers read
        assert_eq!(size_of_image(&img), None);
        put_u32(&mut img, NT + 24 + 56, 0x5000);
        img[NT + 1] = 0; // not PE\0\0
        assert_eq!(size_of_image(&img), None);
        assert_eq!(size_of_image(&img[..NT + 24 + 58]), None); // cut inside SizeOfImage
        assert_eq!(size_of_image(b"MZ"), None);
    }

    #[test]
    fn the_host_crt_follows_its_stdio_import() {
        use HostCrt::*;
        let cases: &[(&[&str], HostCrt)] = &[
            // MSVC 2015+ and mingw-w64 UCRT toolchains: the API sets.
            (
                &[
                    "KERNEL32.dll",
                    "api-ms-win-crt-runtime-l1-1-0.dll",
                    "api-ms-win-crt-stdio-l1-1-0.dll",
                ],
                Ucrt,
            ),
            (&["UCRTBASE.DLL"], Ucrt),
            (&["ucrtbased.dll"], Ucrt),
            // Debian's mingw-w64 default, and what mylib.dll links.
            (&["KERNEL32.dll", "msvcrt.dll"], Msvcrt),
            // msvcrt.dll's stdio, and some other part of the UCRT.
            (&["msvcrt.dll", "api-ms-win-crt-math-l1-1-0.dll"], Msvcrt),
            // A launcher that prints nothing itself: its DLLs use the UCRT.
            (
                &["python313.dll", "VCRUNTIME140.dll", "api-ms-win-crt-runtime-l1-1-0.dll"],
                Ucrt,
            ),
            // A statically linked CRT: no DLL to reach, mylib's own.
            (&["KERNEL32.dll"], Msvcrt),
            (&[], Msvcrt),
        ];
        for (dlls, want) in cases {
            assert_eq!(host_crt(dlls), *want, "{dlls:?}");
        }
    }
}
