//! Progress bars on a terminal, nothing otherwise (scripts and CI logs stay clean).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Every bar of the process, drawn together: a category scan running ahead shows its bar
/// beside the export's.
fn bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(MultiProgress::new)
}

pub struct Progress {
    bar: Option<ProgressBar>,
    counter: Arc<AtomicU64>,
}

impl Progress {
    /// A byte-counting bar for one pass over one source file; hidden when `show` is false
    /// or stderr is not a terminal.
    pub fn new(show: bool, label: &str, total: u64, counter: Arc<AtomicU64>) -> Self {
        let bar = show.then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix:>22} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            b.set_prefix(label.to_string());
            bars().add(b)
        });
        Progress { bar, counter }
    }

    pub fn tick(&self) {
        if let Some(b) = &self.bar {
            b.set_position(self.counter.load(Ordering::Relaxed));
        }
    }

    pub fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}
