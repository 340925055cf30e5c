//! Files a config names (the config itself, secrets, TLS certificates and keys, the country database): read whole
//! only when they are regular files no larger than a limit, so a path such as `/dev/zero`, a FIFO or a runaway
//! file cannot hold up a start or a reload, or exhaust memory. Problems come back as text naming the path.

use std::io::Read as _;
use std::path::Path;

/// Largest config file.
pub const CONFIG_MAX: u64 = 4 << 20;
/// Largest `password_file` or `token_file`.
pub const SECRET_MAX: u64 = 64 << 10;
/// Largest TLS certificate chain, key or client CA file.
pub const TLS_MAX: u64 = 1 << 20;
/// Largest country database (GeoLite2 City is about 60 MiB, the largest commercial files a few hundred).
pub const GEOIP_MAX: u64 = 1 << 30;

/// Reads `path` whole if it is a regular file of at most `limit` bytes.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let shown = path.display();
    // The path is checked before it is opened: opening a FIFO would wait for a writer.
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    let too_large = || format!("{shown} is larger than {} (the limit)", bytes(limit));
    if meta.len() > limit {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if body.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(body)
}

/// Reads `path` as UTF-8 text, like [`read`].
pub fn read_text(path: &Path, limit: u64) -> Result<String, String> {
    String::from_utf8(read(path, limit)?)
        .map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_within_the_limit_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, b"s3cret\n").unwrap();
        assert_eq!(read(&path, 7).unwrap(), b"s3cret\n");
        let err = read(&path, 6).unwrap_err();
        assert!(
            err.ends_with("token is larger than 6 bytes (the limit)"),
            "{err}"
        );
    }

    #[test]
    fn devices_directories_and_fifos_are_refused_without_reading() {
        assert_eq!(
            read(Path::new("/dev/zero"), SECRET_MAX).unwrap_err(),
            "/dev/zero is not a regular file"
        );
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path(), SECRET_MAX).unwrap_err();
        assert!(err.ends_with("is not a regular file"), "{err}");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            // Opening a FIFO for reading would wait for a writer: it must be refused before that.
            assert!(read(&fifo, SECRET_MAX)
                .unwrap_err()
                .ends_with("is not a regular file"));
        }
        let missing = read(&dir.path().join("missing"), SECRET_MAX).unwrap_err();
        assert!(missing.starts_with("cannot read "), "{missing}");
    }

    #[test]
    fn limits_print_in_their_unit() {
        assert_eq!(bytes(GEOIP_MAX), "1 GiB");
        assert_eq!(bytes(SECRET_MAX), "64 KiB");
        assert_eq!(bytes(TLS_MAX), "1 MiB");
        assert_eq!(bytes(1000), "1000 bytes");
    }
}
