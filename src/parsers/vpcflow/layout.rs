//! The field order of a VPC Flow Logs record: the default v2 order, the v5 order with every default field, or an
//! order read from the header line that starts each flow-log file (`version account-id … flow-direction`, also
//! spelt `${srcaddr}` or `log_status`). An input that remembers a file's header can read custom formats with it.
//! No IO, no allocation, no panics.

/// The fields an event needs, as indexes into [`Layout`] slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Interface,
    Src,
    Dst,
    SrcPort,
    DstPort,
    Protocol,
    Start,
    Action,
    Status,
    Direction,
}

const FIELDS: usize = 10;

/// Every field name AWS documents for flow-log records; a header line holds only these.
const KNOWN: [&[u8]; 40] = [
    b"version",
    b"account-id",
    b"interface-id",
    b"srcaddr",
    b"dstaddr",
    b"srcport",
    b"dstport",
    b"protocol",
    b"packets",
    b"bytes",
    b"start",
    b"end",
    b"action",
    b"log-status",
    b"vpc-id",
    b"subnet-id",
    b"instance-id",
    b"tcp-flags",
    b"type",
    b"pkt-srcaddr",
    b"pkt-dstaddr",
    b"region",
    b"az-id",
    b"sublocation-type",
    b"sublocation-id",
    b"pkt-src-aws-service",
    b"pkt-dst-aws-service",
    b"flow-direction",
    b"traffic-path",
    b"ecs-cluster-arn",
    b"ecs-cluster-name",
    b"ecs-container-instance-arn",
    b"ecs-container-instance-id",
    b"ecs-container-id",
    b"ecs-second-container-id",
    b"ecs-service-name",
    b"ecs-task-definition-arn",
    b"ecs-task-arn",
    b"ecs-task-id",
    b"reject-reason",
];

/// Token positions of the fields an event needs (`None`: not in this format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    slots: [Option<u8>; FIELDS],
    /// Tokens in a full record of this format.
    width: u8,
}

impl Layout {
    /// The default format: `version account-id interface-id srcaddr dstaddr srcport dstport protocol packets
    /// bytes start end action log-status`.
    pub const DEFAULT: Layout = Layout {
        slots: [
            Some(2),
            Some(3),
            Some(4),
            Some(5),
            Some(6),
            Some(7),
            Some(10),
            Some(12),
            Some(13),
            None,
        ],
        width: 14,
    };

    /// The v5 format with every default field, which adds `flow-direction` at token 27 of 29.
    pub const V5_ALL: Layout = Layout {
        slots: [
            Some(2),
            Some(3),
            Some(4),
            Some(5),
            Some(6),
            Some(7),
            Some(10),
            Some(12),
            Some(13),
            Some(27),
        ],
        width: 29,
    };

    /// Reads a header line. `None` unless every token is a flow-log field name and both addresses are named.
    pub fn from_header(line: &[u8]) -> Option<Layout> {
        Layout::from_names(line.split(|&c| c == b' ').filter(|t| !t.is_empty())).ok()
    }

    /// The field order named by `names` (`srcaddr`, `${srcaddr}` or `src_addr`…), or what is wrong with it.
    pub fn from_names<'n>(names: impl IntoIterator<Item = &'n [u8]>) -> Result<Layout, String> {
        let mut layout = Layout {
            slots: [None; FIELDS],
            width: 0,
        };
        for (i, token) in names.into_iter().enumerate() {
            let name = token
                .strip_prefix(b"${")
                .and_then(|t| t.strip_suffix(b"}"))
                .unwrap_or(token);
            if !KNOWN.iter().any(|k| same_name(name, k)) {
                let name = String::from_utf8_lossy(name);
                return Err(format!("{name:?} is not a VPC Flow Logs field"));
            }
            let index = u8::try_from(i).map_err(|_| "names more than 255 fields".to_owned())?;
            layout.width = index.saturating_add(1);
            if let Some(field) = field_of(name) {
                if let Some(slot) = layout.slots.get_mut(field as usize) {
                    slot.get_or_insert(index);
                }
            }
        }
        for (field, name) in [(Field::Src, "srcaddr"), (Field::Dst, "dstaddr")] {
            if layout.position(field).is_none() {
                return Err(format!("names no {name} field"));
            }
        }
        Ok(layout)
    }

    /// Token index of `field`, if this format has it.
    pub fn position(&self, field: Field) -> Option<usize> {
        self.slots
            .get(field as usize)
            .copied()
            .flatten()
            .map(usize::from)
    }

    /// Tokens in a full record of this format.
    pub fn width(&self) -> usize {
        usize::from(self.width)
    }

    /// True when `line` has exactly this format's number of fields and addresses (or `-`) where this format has
    /// them: a record of this format, not a header or another format's line.
    pub fn fits(&self, line: &[u8]) -> bool {
        let (Some(src), Some(dst)) = (self.position(Field::Src), self.position(Field::Dst)) else {
            return false;
        };
        let address = |t: &[u8]| t == b"-" || crate::address::parse_ip(t).is_some();
        let mut count = 0;
        let mut found = 0;
        for (i, token) in line
            .split(|&c| c == b' ')
            .filter(|t| !t.is_empty())
            .enumerate()
        {
            if (i == src || i == dst) && address(token) {
                found += 1;
            }
            count = i + 1;
        }
        found == 2 && count == self.width()
    }

    /// The tokens of `line` in the slots of this layout.
    pub(super) fn pick<'a>(&self, line: &'a [u8]) -> ([Option<&'a [u8]>; FIELDS], usize) {
        let mut picked = [None; FIELDS];
        let mut count = 0;
        for (i, token) in line
            .split(|&c| c == b' ')
            .filter(|t| !t.is_empty())
            .enumerate()
        {
            for (slot, at) in picked.iter_mut().zip(self.slots) {
                if at.map(usize::from) == Some(i) {
                    *slot = Some(token);
                }
            }
            count = i + 1;
        }
        (picked, count)
    }
}

fn field_of(name: &[u8]) -> Option<Field> {
    const NAMES: [(&[u8], Field); FIELDS] = [
        (b"interface-id", Field::Interface),
        (b"srcaddr", Field::Src),
        (b"dstaddr", Field::Dst),
        (b"srcport", Field::SrcPort),
        (b"dstport", Field::DstPort),
        (b"protocol", Field::Protocol),
        (b"start", Field::Start),
        (b"action", Field::Action),
        (b"log-status", Field::Status),
        (b"flow-direction", Field::Direction),
    ];
    NAMES
        .iter()
        .find(|(n, _)| same_name(name, n))
        .map(|(_, f)| *f)
}

/// Field names compare with `_` and `-` as the same byte (`log_status`, `log-status`).
fn same_name(name: &[u8], known: &[u8]) -> bool {
    name.len() == known.len()
        && name
            .iter()
            .zip(known)
            .all(|(&a, &b)| a == b || (a == b'_' && b == b'-'))
}
