//! The kernel's drop counter of a UDP socket, read from `/proc/net/udp` and `/proc/net/udp6` (the `drops` column of
//! the row whose `inode` is the socket's). Parsing is pure; [`read`] is the only IO.

use std::os::unix::fs::MetadataExt;

/// Column of `inode` and `drops` in a `/proc/net/udp{,6}` row, split on whitespace.
const INODE_COLUMN: usize = 9;
const DROPS_COLUMN: usize = 12;

/// The `drops` value of the row for socket `inode` in a `/proc/net/udp`-shaped table.
pub fn drops_for_inode(table: &[u8], inode: u64) -> Option<u64> {
    table.split(|b| *b == b'\n').skip(1).find_map(|row| {
        let mut fields = row
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        let ino = number(fields.nth(INODE_COLUMN)?)?;
        if ino != inode {
            return None;
        }
        number(fields.nth(DROPS_COLUMN - INODE_COLUMN - 1)?)
    })
}

fn number(field: &[u8]) -> Option<u64> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// The inode of the socket behind file descriptor `fd` of this process.
pub fn socket_inode(fd: i32) -> std::io::Result<u64> {
    Ok(std::fs::metadata(format!("/proc/self/fd/{fd}"))?.ino())
}

/// Reads the kernel's drop count for socket `inode`, or `None` if no table lists it.
pub fn read(inode: u64) -> Option<u64> {
    ["/proc/net/udp", "/proc/net/udp6"]
        .iter()
        .filter_map(|path| std::fs::read(path).ok())
        .find_map(|table| drops_for_inode(&table, inode))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[u8] = b"   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  283: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 17960 2 0000000000000000 0
 1021: 0100007F:15BA 00000000:0000 07 00000000:00034A00 00:00000000 00000000     0        0 4242 2 0000000000000000 1234
";

    #[test]
    fn finds_drops_by_inode() {
        assert_eq!(drops_for_inode(TABLE, 4242), Some(1234));
        assert_eq!(drops_for_inode(TABLE, 17960), Some(0));
        assert_eq!(drops_for_inode(TABLE, 1), None);
    }

    #[test]
    fn tolerates_garbage() {
        assert_eq!(drops_for_inode(b"", 1), None);
        assert_eq!(drops_for_inode(b"header\n1 2 3\n\xff\xfe", 3), None);
    }

    #[test]
    fn reads_own_socket_from_proc() {
        use std::os::fd::AsRawFd;
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let inode = socket_inode(socket.as_raw_fd()).expect("inode");
        assert_eq!(read(inode), Some(0));
    }
}
