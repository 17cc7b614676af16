//! The machine's cores, read once before anything is pinned.

use core_affinity::CoreId;

/// The cores this process may run on, read once.
///
/// `core_affinity::get_core_ids` lists only the cores the *calling thread* may run on, so
/// it must be read before any thread is pinned (a pinned thread would see one core).
/// Build a `Cores` at start-up, on the main thread, and pass it to every [`crate::Runner`].
#[derive(Debug, Clone)]
pub struct Cores {
    ids: Vec<usize>,
}

impl Cores {
    /// Reads the cores available to the calling thread (call before pinning anything).
    ///
    /// If the OS does not report them, falls back to `0..available_parallelism`.
    #[must_use]
    pub fn detect() -> Cores {
        let mut ids: Vec<usize> = core_affinity::get_core_ids()
            .map(|cores| cores.into_iter().map(|core| core.id).collect())
            .unwrap_or_default();
        if ids.is_empty() {
            let count = std::thread::available_parallelism().map_or(1, |count| count.get());
            ids = (0..count).collect();
        }
        ids.sort_unstable();
        ids.dedup();
        Cores { ids }
    }

    /// A fixed list, for tests and for machines described by configuration.
    #[must_use]
    pub fn from_ids(mut ids: Vec<usize>) -> Cores {
        ids.sort_unstable();
        ids.dedup();
        Cores { ids }
    }

    /// The core ids, ascending.
    #[must_use]
    pub fn ids(&self) -> &[usize] {
        &self.ids
    }

    /// How many cores.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no core was found (never, after [`Cores::detect`]).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Whether `core` is one of them.
    #[must_use]
    pub fn contains(&self, core: usize) -> bool {
        self.ids.binary_search(&core).is_ok()
    }

    pub(crate) fn core_id(core: usize) -> CoreId {
        CoreId { id: core }
    }
}

/// The CPU the calling thread last ran on, read from `/proc/thread-self/stat` (Linux).
///
/// For diagnostics and tests (proving where a pinned thread runs), not the hot path: it
/// opens and reads a file. `None` where the file does not exist or cannot be parsed.
#[must_use]
pub fn current_cpu() -> Option<usize> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    parse_processor_field(&stat)
}

/// Field 39 of a `/proc/<pid>/stat` line. The command name (field 2) is in parentheses
/// and may itself contain spaces or parentheses, so fields are counted after the last ')'.
fn parse_processor_field(stat: &str) -> Option<usize> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // After the name come fields 3, 4, …; field 39 is the 37th of them.
    after_name.split_whitespace().nth(39 - 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_processor_field_even_with_odd_command_names() {
        let mut fields: Vec<String> = (3..=52).map(|field| field.to_string()).collect();
        fields[39 - 3] = "7".to_string();
        let line = format!("1234 (we (ird) name) {}", fields.join(" "));
        assert_eq!(parse_processor_field(&line), Some(7));
        assert_eq!(parse_processor_field("garbage"), None);
    }

    #[test]
    fn detects_at_least_one_core_and_reads_the_current_cpu() {
        let cores = Cores::detect();
        assert!(!cores.is_empty());
        if let Some(cpu) = current_cpu() {
            assert!(
                cores.contains(cpu),
                "running on cpu {cpu}, not in {:?}",
                cores.ids()
            );
        }
    }
}
