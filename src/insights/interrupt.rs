//! Ctrl-C (or SIGTERM) while Logs Insights queries run on the service. A query left running
//! keeps scanning, and billing, for up to an hour, so the first signal only sets a flag that
//! every query checks: a polling query is stopped (StopQuery), a StartQuery that answers after
//! the signal has its query stopped at once, and no new sub-window starts. A second signal exits
//! at once (status 130) for the user who will not wait for the StopQuery calls. When the
//! Logs Insights phase is over ([`release`], e.g. `--engine auto` chose to download), the
//! signals act as they did before: they end the process.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static RELEASED: AtomicBool = AtomicBool::new(false);
static INSTALLED: OnceLock<()> = OnceLock::new();

/// Installs the handlers (once per process; later calls do nothing).
pub fn install() {
    INSTALLED.get_or_init(|| {
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // In order: released → the signal's default action (the process ends); else a
            // second signal exits 130; else the flag is set.
            let _ = signal_hook::flag::register_conditional_default(signal, &RELEASED);
            let _ = signal_hook::flag::register_conditional_shutdown(signal, 130, &REQUESTED);
            let _ = signal_hook::flag::register(signal, &REQUESTED);
        }
    });
}

/// Gives the signals back their default action (the process ends on the next one).
pub fn release() {
    RELEASED.store(true, Ordering::SeqCst);
}

/// Whether the user asked to stop.
#[must_use]
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
