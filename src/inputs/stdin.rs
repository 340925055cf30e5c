//! Standard input: newline-framed lines until end of input. Owns nothing but that loop.

use tokio_util::sync::CancellationToken;

use super::batch::{Outbox, Stopped};
use super::framing::Framing;
use super::stream::{pump, Ended, StreamSpec};

/// Reads standard input to its end (or shutdown), sending every line.
pub async fn run(
    max_message: usize,
    mut out: Outbox,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let spec = StreamSpec {
        framing: Framing::Newline,
        max_message,
        idle_timeout: None,
    };
    match pump(&mut tokio::io::stdin(), spec, &mut out, &shutdown, None).await {
        Ended::Eof | Ended::Idle | Ended::Evicted | Ended::Stopped(Stopped::Shutdown) => Ok(()),
        Ended::Stopped(Stopped::Closed) => Err(anyhow::anyhow!(
            "the line queue closed while reading standard input"
        )),
        Ended::Error(e) => Err(anyhow::anyhow!("cannot read standard input: {e}")),
    }
}
