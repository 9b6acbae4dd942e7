//! Ctrl-C (or SIGTERM) while Logs Insights queries run on the service. A query left running
//! keeps scanning, and billing, for up to an hour, so the first signal only sets a flag that
//! every query checks: a polling query is stopped (StopQuery), a StartQuery that answers after
//! the signal has its query stopped at once, and no new sub-window starts. A second signal exits
//! at once (status 130) for the user who will not wait for the StopQuery calls.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static INSTALLED: OnceLock<()> = OnceLock::new();

/// Installs the handlers (once per process; later calls do nothing).
pub fn install() {
    INSTALLED.get_or_init(|| {
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // The shutdown goes first: it sees the flag the first signal set.
            let _ = signal_hook::flag::register_conditional_shutdown(signal, 130, &REQUESTED);
            let _ = signal_hook::flag::register(signal, &REQUESTED);
        }
    });
}

/// Whether the user asked to stop.
#[must_use]
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
