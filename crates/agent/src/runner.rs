//! Starting agents on (pinned) threads and stopping them cleanly.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::cores::Cores;
use crate::idle::{Idle, IdleStrategy};
use crate::Agent;

/// Why agents could not be started or stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunnerError {
    /// A thread was configured for a core this process cannot run on.
    #[error("thread \"{thread}\" is configured for core {core}, which does not exist or is not available to this process (available cores: {available:?})")]
    CoreNotFound {
        /// The thread's name.
        thread: String,
        /// The core asked for.
        core: usize,
        /// The cores that are available.
        available: Vec<usize>,
    },
    /// Two threads were configured for the same core.
    #[error("threads \"{first}\" and \"{second}\" are both configured for core {core}; give each pinned thread its own core or run both agents in one thread")]
    CoreAssignedTwice {
        /// The core.
        core: usize,
        /// The first thread configured for it.
        first: String,
        /// The second thread configured for it.
        second: String,
    },
    /// The OS refused to pin a thread to its core.
    #[error("thread \"{thread}\" could not be pinned to core {core}")]
    PinFailed {
        /// The thread's name.
        thread: String,
        /// The core.
        core: usize,
    },
    /// The OS could not create a thread.
    #[error("thread \"{thread}\" could not be spawned: {reason}")]
    SpawnFailed {
        /// The thread's name.
        thread: String,
        /// What the OS said.
        reason: String,
    },
    /// An agent panicked (only possible where panics unwind, such as in tests).
    #[error("thread \"{thread}\" panicked while running its agent")]
    AgentPanicked {
        /// The thread's name.
        thread: String,
    },
}

/// How to run one thread: its agent, its core (if pinned), its idle strategy and how long
/// it may take to drain at shutdown.
pub struct ThreadSpec {
    name: String,
    agent: Box<dyn Agent>,
    core: Option<usize>,
    idle: Idle,
    drain_idle_cycles: u32,
    drain_timeout: Duration,
}

impl ThreadSpec {
    /// An unpinned thread named `name` running `agent` with a yielding idle strategy.
    #[must_use]
    pub fn new(name: impl Into<String>, agent: Box<dyn Agent>) -> ThreadSpec {
        ThreadSpec {
            name: name.into(),
            agent,
            core: None,
            idle: Idle::Yield,
            drain_idle_cycles: 100,
            drain_timeout: Duration::from_secs(5),
        }
    }

    /// Pins the thread to `core` (an id from [`Cores`]).
    #[must_use]
    pub fn pin(mut self, core: usize) -> ThreadSpec {
        self.core = Some(core);
        self
    }

    /// Sets the idle strategy.
    #[must_use]
    pub fn idle(mut self, idle: Idle) -> ThreadSpec {
        self.idle = idle;
        self
    }

    /// At shutdown the agent counts as drained after this many consecutive duty cycles
    /// that found no work while it had none pending (default 100), and is abandoned, with
    /// `drained: false` in its report, after `timeout` (default 5 s).
    #[must_use]
    pub fn drain(mut self, idle_cycles: u32, timeout: Duration) -> ThreadSpec {
        self.drain_idle_cycles = idle_cycles.max(1);
        self.drain_timeout = timeout;
        self
    }
}

/// What a thread did, returned by [`Runner::stop`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadReport {
    /// The thread's name.
    pub name: String,
    /// The agent's role name.
    pub role_name: String,
    /// The core it was pinned to.
    pub core: Option<usize>,
    /// Duty cycles run.
    pub duty_cycles: u64,
    /// Sum of the work counts its duty cycles returned.
    pub work_count: u64,
    /// Whether it reached an idle state before its drain timeout.
    pub drained: bool,
}

struct RunningThread {
    name: String,
    control: Arc<Control>,
    drain_timeout: Duration,
    handle: JoinHandle<ThreadReport>,
}

/// What the runner and one thread share: the phase the runner asks for, and what the
/// thread reports back while the pipeline comes to rest.
#[derive(Default)]
struct Control {
    /// [`RUNNING`], [`CLOSING`] or [`STOPPING`].
    phase: AtomicU8,
    /// Set while the thread has run `drain_idle_cycles` duty cycles in a row with no work
    /// and nothing pending, since its intake closed.
    at_rest: AtomicBool,
    /// Duty cycles that found work since its intake closed.
    busy_cycles: AtomicU64,
}

/// Duty cycles as usual.
const RUNNING: u8 = 0;
/// Intake closed: finish what is in flight.
const CLOSING: u8 = 1;
/// Leave the loop and close.
const STOPPING: u8 = 2;

/// How long every thread must stay at rest, with no work found anywhere, before the
/// pipeline counts as drained: longer than the longest back-off sleep, so a message
/// pushed to a sleeping thread is seen within it.
const REST_CONFIRM: Duration = Duration::from_millis(10);

/// Agents running on their threads. Stop it with [`Runner::stop`]; dropping it stops the
/// threads too, discarding their reports.
pub struct Runner {
    threads: Vec<RunningThread>,
}

impl Runner {
    /// Validates every thread's core against `cores`, then starts the threads in order and
    /// returns once each is pinned and has run its agent's `on_start`.
    ///
    /// # Errors
    /// [`RunnerError`] naming the thread and core if a core does not exist, is assigned
    /// twice or cannot be pinned, or a thread cannot be spawned. Threads already started
    /// are stopped before the error is returned.
    pub fn start(cores: &Cores, specs: Vec<ThreadSpec>) -> Result<Runner, RunnerError> {
        validate_cores(cores, &specs)?;
        let mut runner = Runner {
            threads: Vec::with_capacity(specs.len()),
        };
        for spec in specs {
            // On error, `runner` is dropped here and stops what it had started.
            runner.threads.push(spawn(spec)?);
        }
        Ok(runner)
    }

    /// The threads' names, in start order.
    pub fn thread_names(&self) -> impl Iterator<Item = &str> {
        self.threads.iter().map(|thread| thread.name.as_str())
    }

    /// Stops the threads as one pipeline. First every agent's intake closes (no new input
    /// from outside the process; see [`Agent::close_intake`]) while every thread keeps
    /// running duty cycles; once all of them are at rest at the same moment (no work
    /// found, nothing pending, and no thread busy over a confirmation window) nothing is
    /// in flight anywhere, whatever the placement and however the rings loop back
    /// between threads. Then every thread leaves its loop and closes. `drained` in each
    /// report is false when that rest was not reached within the longest drain timeout.
    ///
    /// # Errors
    /// [`RunnerError::AgentPanicked`] for the first thread that panicked; the others are
    /// still stopped.
    pub fn stop(mut self) -> Result<Vec<ThreadReport>, RunnerError> {
        let drained = self.come_to_rest();
        let mut reports = Vec::with_capacity(self.threads.len());
        let mut first_error = None;
        for thread in self.threads.drain(..) {
            thread.control.phase.store(STOPPING, Ordering::Release);
            match thread.handle.join() {
                Ok(mut report) => {
                    report.drained = drained && report.drained;
                    reports.push(report);
                }
                Err(_) => {
                    first_error.get_or_insert(RunnerError::AgentPanicked {
                        thread: thread.name,
                    });
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(reports),
        }
    }

    /// Closes every thread's intake and waits until all are at rest together; false
    /// after the longest drain timeout.
    fn come_to_rest(&self) -> bool {
        for thread in &self.threads {
            thread.control.phase.store(CLOSING, Ordering::Release);
        }
        let timeout = self
            .threads
            .iter()
            .map(|thread| thread.drain_timeout)
            .max()
            .unwrap_or_default();
        let deadline = Instant::now() + timeout;
        let busy = || -> Option<u64> {
            let mut total = 0;
            for thread in &self.threads {
                if thread.handle.is_finished() {
                    continue; // it panicked: nothing more will come from it
                }
                if !thread.control.at_rest.load(Ordering::Acquire) {
                    return None;
                }
                total += thread.control.busy_cycles.load(Ordering::Acquire);
            }
            Some(total)
        };
        while Instant::now() < deadline {
            if let Some(before) = busy() {
                std::thread::sleep(REST_CONFIRM);
                if busy() == Some(before) {
                    return true;
                }
            } else {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        false
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        for thread in self.threads.drain(..) {
            thread.control.phase.store(STOPPING, Ordering::Release);
            // A panicked agent has already reported itself on stderr; nothing to add here.
            let _ = thread.handle.join();
        }
    }
}

fn validate_cores(cores: &Cores, specs: &[ThreadSpec]) -> Result<(), RunnerError> {
    let mut assigned: Vec<(usize, &str)> = Vec::new();
    for spec in specs {
        let Some(core) = spec.core else { continue };
        if !cores.contains(core) {
            return Err(RunnerError::CoreNotFound {
                thread: spec.name.clone(),
                core,
                available: cores.ids().to_vec(),
            });
        }
        if let Some((_, first)) = assigned.iter().find(|(taken, _)| *taken == core) {
            return Err(RunnerError::CoreAssignedTwice {
                core,
                first: (*first).to_string(),
                second: spec.name.clone(),
            });
        }
        assigned.push((core, &spec.name));
    }
    Ok(())
}

/// The timer slack of every agent thread: the most the kernel may delay its sleeps' ends
/// to batch wake-ups.
const TIMER_SLACK_NS: std::num::NonZeroU64 = std::num::NonZeroU64::MIN;

fn spawn(spec: ThreadSpec) -> Result<RunningThread, RunnerError> {
    let name = spec.name.clone();
    let core = spec.core;
    let drain_timeout = spec.drain_timeout;
    let control = Arc::new(Control::default());
    let (started_sender, started_receiver) = mpsc::channel::<bool>();
    let thread_control = Arc::clone(&control);
    let handle = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let pinned =
                core.is_none_or(|core| core_affinity::set_for_current(Cores::core_id(core)));
            // A sleeping agent wakes when its sleep ends, not up to the kernel's default
            // timer slack (50 µs) later: on the shared placement a reply crosses two
            // threads that may both be asleep.
            let _ = rustix::thread::set_current_timer_slack(Some(TIMER_SLACK_NS));
            let _ = started_sender.send(pinned);
            run(spec, &thread_control, pinned)
        })
        .map_err(|error| RunnerError::SpawnFailed {
            thread: name.clone(),
            reason: error.to_string(),
        })?;
    let thread = RunningThread {
        name: name.clone(),
        control,
        drain_timeout,
        handle,
    };
    // The thread sends exactly once, right after pinning; a closed channel means it died.
    match started_receiver.recv() {
        Ok(true) => Ok(thread),
        Ok(false) => {
            let _ = thread.handle.join();
            Err(RunnerError::PinFailed {
                thread: name,
                core: core.unwrap_or_default(),
            })
        }
        Err(_) => {
            let _ = thread.handle.join();
            Err(RunnerError::AgentPanicked { thread: name })
        }
    }
}

/// The thread's whole life: start, duty cycles until the runner closes intake, duty
/// cycles reporting rest until it stops the thread, close.
fn run(mut spec: ThreadSpec, control: &Control, pinned: bool) -> ThreadReport {
    let mut report = ThreadReport {
        name: spec.name.clone(),
        role_name: spec.agent.role_name().to_string(),
        core: spec.core,
        duty_cycles: 0,
        work_count: 0,
        drained: false,
    };
    if !pinned {
        return report;
    }
    spec.agent.on_start();
    while control.phase.load(Ordering::Acquire) == RUNNING {
        let work_count = spec.agent.do_work();
        spec.idle.idle(work_count);
        report.duty_cycles += 1;
        report.work_count += work_count as u64;
    }
    spec.agent.close_intake();
    report.drained = drain(&mut spec, control, &mut report);
    spec.agent.on_close();
    report
}

/// Runs duty cycles, telling the runner whenever `drain_idle_cycles` in a row found no
/// work while the agent had none pending (at rest) and whenever a cycle found work, until
/// the runner stops the thread. Returns whether the thread was at rest at the end.
fn drain(spec: &mut ThreadSpec, control: &Control, report: &mut ThreadReport) -> bool {
    let mut idle_cycles: u32 = 0;
    while control.phase.load(Ordering::Acquire) != STOPPING {
        let work_count = spec.agent.do_work();
        report.duty_cycles += 1;
        report.work_count += work_count as u64;
        if work_count == 0 && !spec.agent.has_pending_work() {
            idle_cycles = idle_cycles.saturating_add(1);
            if idle_cycles == spec.drain_idle_cycles {
                control.at_rest.store(true, Ordering::Release);
            }
        } else {
            if idle_cycles >= spec.drain_idle_cycles {
                control.at_rest.store(false, Ordering::Release);
            }
            idle_cycles = 0;
            control.busy_cycles.fetch_add(1, Ordering::AcqRel);
        }
        spec.idle.idle(work_count);
    }
    idle_cycles >= spec.drain_idle_cycles
}
