//! What reading a line needs beyond its own bytes: the input's settings (the log prefix → action rules of
//! netfilter, the VPC Flow Logs field order of its `fields:`) and what the stream's earlier lines said (the field
//! order of a flow-log file's header line). Every event of a line is handed to a closure as it is read: a line of
//! most formats holds one event, a document of flows many. No IO; nothing is allocated per line or per event.

use std::sync::{Arc, LazyLock};

use super::netfilter::{self, PrefixActions};
use super::syslog::Stamps;
use super::vpcflow::{self, Layout};
use super::{LogFormat, ParseError};
use crate::event::{Event, Glimpse};

static DEFAULT_ACTIONS: LazyLock<PrefixActions> = LazyLock::new(PrefixActions::default);

/// The reading context of one stream of lines (an input, a file, standard input). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `None`: the built-in prefix rules.
    actions: Option<Arc<PrefixActions>>,
    /// The field order of VPC Flow Logs records: the input's `fields:`, else the last header line read.
    layout: Option<Layout>,
    /// The layout is the input's `fields:`: a header line does not replace it.
    fixed_layout: bool,
    /// The time syslog stamps without a year are read at, and the last stamp read.
    stamps: Stamps,
}

impl Context {
    /// A context with prefix rules (`None`: the built-in ones) and a fixed VPC Flow Logs field order. Syslog
    /// stamps without a year are read at Unix time 0 until [`Context::set_now`] says otherwise.
    pub fn new(actions: Option<Arc<PrefixActions>>, fields: Option<Layout>) -> Context {
        Context {
            actions,
            fixed_layout: fields.is_some(),
            layout: fields,
            stamps: Stamps::default(),
        }
    }

    /// Reads the syslog stamps of later lines that carry no year at `now` (Unix seconds): the year of `now`, or the
    /// one before when that would put a stamp more than a day after it. The caller reads the clock (once per batch
    /// of lines, say); the context never does.
    pub fn set_now(&mut self, now: i64) {
        self.stamps.set_now(now);
    }

    /// This context with [`Context::set_now`] applied.
    pub fn at(mut self, now: i64) -> Context {
        self.set_now(now);
        self
    }

    /// The stamps syslog headers are read with.
    pub fn stamps(&mut self) -> &mut Stamps {
        &mut self.stamps
    }

    /// The log prefix → action rules.
    pub fn actions(&self) -> &PrefixActions {
        self.actions.as_deref().unwrap_or(&DEFAULT_ACTIONS)
    }

    /// The VPC Flow Logs field order records are read with, when one is known.
    pub fn layout(&self) -> Option<&Layout> {
        self.layout.as_ref()
    }

    /// Takes the field order of a VPC Flow Logs header line for the records that follow, unless the input fixed
    /// one. True when `line` is a header line.
    pub fn learn(&mut self, line: &[u8]) -> bool {
        let Some(layout) = Layout::from_header(vpcflow::record(line)) else {
            return false;
        };
        // The default orders need no layout: their records are read as they are.
        if !self.fixed_layout {
            self.layout = (layout != Layout::DEFAULT && layout != Layout::V5_ALL).then_some(layout);
        }
        true
    }

    /// [`LogFormat::sniff`], and a record of the known VPC Flow Logs field order for `VpcFlow`.
    pub fn sniff(&self, format: LogFormat, line: &[u8]) -> bool {
        format.sniff(line) || (format == LogFormat::VpcFlow && self.fits_layout(line))
    }

    /// [`super::detect`], then a record of the known VPC Flow Logs field order (tried only when no format sniffs
    /// the line, so that detection of every other format costs the same).
    pub fn detect(&self, line: &[u8]) -> Option<LogFormat> {
        super::detect(line).or_else(|| self.fits_layout(line).then_some(LogFormat::VpcFlow))
    }

    fn fits_layout(&self, line: &[u8]) -> bool {
        self.layout
            .as_ref()
            .is_some_and(|l| vpcflow::custom(l, line).is_some())
    }

    /// The event of a line of `format` (the first of a document of flows), read with this context.
    pub fn parse<'a>(
        &mut self,
        format: LogFormat,
        line: &'a [u8],
    ) -> Result<Event<'a>, ParseError> {
        let actions = self.actions.as_deref().unwrap_or(&DEFAULT_ACTIONS);
        match format {
            LogFormat::Netfilter => netfilter::parse_with(line, actions, &mut self.stamps),
            LogFormat::MikroTik => super::mikrotik::parse_with(line, actions, &mut self.stamps),
            LogFormat::VpcFlow => match &self.layout {
                Some(layout) => vpcflow::parse_in(layout, line),
                None => vpcflow::parse(line),
            },
            other => other.parse(line, &mut self.stamps),
        }
    }

    /// The glimpse of [`Context::parse`]'s event, read more cheaply where the format allows (netfilter).
    pub fn glimpse(&mut self, format: LogFormat, line: &[u8]) -> Result<Glimpse, ParseError> {
        match format {
            LogFormat::Netfilter => netfilter::glimpse(line),
            other => self.parse(other, line).map(|e| e.glimpse()),
        }
    }

    /// Hands every event of a line of `format` to `each`, in order, each a record's event or the reason a record
    /// gave none; a line gives at least one. A VPC Flow Logs header line sets the field order of the records
    /// that follow (unless the input fixed one) and gives `NotTraffic`.
    pub fn parse_each<'a>(
        &mut self,
        format: LogFormat,
        line: &'a [u8],
        each: &mut impl FnMut(Result<Event<'a>, ParseError>),
    ) {
        match format {
            LogFormat::VpcFlow if self.learn(line) => each(Err(ParseError::NotTraffic)),
            f if f.holds_many() => f.parse_each(line, &mut self.stamps, each),
            f => each(self.parse(f, line)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Action;
    use crate::parsers::fixture::render;

    fn events(ctx: &mut Context, format: LogFormat, line: &str) -> Vec<String> {
        let mut out = Vec::new();
        ctx.parse_each(format, line.as_bytes(), &mut |r| out.push(render(r)));
        out
    }

    #[test]
    fn a_header_line_sets_the_field_order_of_the_records_after_it() {
        let mut ctx = Context::default();
        let record = "vpc-0abc 185.220.101.5 10.0.1.9 443 6 REJECT ingress 1741083300";
        assert_eq!(ctx.detect(record.as_bytes()), None);
        let header = "${vpc-id} ${srcaddr} ${dstaddr} ${dstport} ${protocol} ${action} ${flow-direction} ${start}";
        assert_eq!(ctx.detect(header.as_bytes()), Some(LogFormat::VpcFlow));
        assert_eq!(
            events(&mut ctx, LogFormat::VpcFlow, header),
            ["error=not_traffic"]
        );
        assert_eq!(ctx.detect(record.as_bytes()), Some(LogFormat::VpcFlow));
        assert!(ctx.sniff(LogFormat::VpcFlow, record.as_bytes()));
        assert_eq!(
            events(&mut ctx, LogFormat::VpcFlow, record),
            ["time=1741083300 src=185.220.101.5 dst=10.0.1.9 dport=443 proto=tcp action=drop dir=inbound"]
        );
        // A default-format record of another file still reads as the default format.
        let default = "2 123456789012 eni-1 198.51.100.3 10.0.0.5 5555 22 6 1 40 1741083300 1741083360 ACCEPT OK";
        assert_eq!(
            events(&mut ctx, LogFormat::VpcFlow, default),
            ["time=1741083300 device=eni-1 src=198.51.100.3 sport=5555 dst=10.0.0.5 dport=22 proto=tcp action=allow"]
        );
    }

    #[test]
    fn a_header_and_records_over_syslog_read_alike() {
        let mut ctx = Context::default();
        let header = "<14>1 2025-03-04T10:15:30Z fwd flowlogs - - - srcaddr dstaddr dstport action";
        assert_eq!(ctx.detect(header.as_bytes()), Some(LogFormat::VpcFlow));
        assert_eq!(
            events(&mut ctx, LogFormat::VpcFlow, header),
            ["error=not_traffic"]
        );
        let record =
            "<14>1 2025-03-04T10:15:31Z fwd flowlogs - - - 185.220.101.5 10.0.1.9 22 REJECT";
        assert_eq!(ctx.detect(record.as_bytes()), Some(LogFormat::VpcFlow));
        assert_eq!(
            events(&mut ctx, LogFormat::VpcFlow, record),
            ["src=185.220.101.5 dst=10.0.1.9 dport=22 action=drop"]
        );
    }

    #[test]
    fn a_default_header_takes_no_layout_so_other_lines_are_not_taken_for_records() {
        let mut ctx = Context::default();
        let custom = "srcaddr dstaddr action";
        assert!(ctx.learn(custom.as_bytes()));
        assert!(ctx.layout().is_some());
        let default = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes \
                       start end action log-status";
        assert!(ctx.learn(default.as_bytes()));
        assert_eq!(ctx.layout(), None);
        let other = "a b c 192.0.2.1 192.0.2.2 f g h i j k l m n";
        assert_eq!(ctx.detect(other.as_bytes()), None);
    }

    #[test]
    fn fields_of_the_input_win_over_a_header() {
        let fields = Layout::from_header(b"srcaddr dstaddr action").expect("layout");
        let mut ctx = Context::new(None, Some(fields));
        assert_eq!(
            events(&mut ctx, LogFormat::VpcFlow, "version srcaddr dstaddr"),
            ["error=not_traffic"]
        );
        assert_eq!(
            events(&mut ctx, LogFormat::VpcFlow, "203.0.113.9 10.0.0.1 ACCEPT"),
            ["src=203.0.113.9 dst=10.0.0.1 action=allow"]
        );
    }

    #[test]
    fn prefix_rules_of_the_input_decide_netfilter_actions() {
        let rules = PrefixActions::new([("KEEP", Action::Allow)], Action::Reject);
        let mut ctx = Context::new(Some(Arc::new(rules)), None);
        let line = b"Nov 28 00:00:02 fw1 kernel: KEEP IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP SPT=1 DPT=2";
        let event = ctx
            .parse(LogFormat::Netfilter, line)
            .expect("netfilter line");
        assert_eq!(event.action, Some(Action::Allow));
        let other = b"Nov 28 00:00:02 fw1 kernel: X IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 PROTO=TCP SPT=1 DPT=2";
        let event = ctx
            .parse(LogFormat::Netfilter, other)
            .expect("netfilter line");
        assert_eq!(event.action, Some(Action::Reject));
        assert_eq!(
            Context::default()
                .parse(LogFormat::Netfilter, other)
                .map(|e| e.action),
            Ok(Some(Action::Drop))
        );
    }
}
