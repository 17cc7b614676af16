//! Starting agents on (pinned) threads and stopping them cleanly.

use std::sync::atomic::{AtomicBool, Ordering};
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
    stop: Arc<AtomicBool>,
    handle: JoinHandle<ThreadReport>,
}

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

    /// Stops the threads in start order, each drained before the next is asked to stop:
    /// with upstream agents listed first, every message in flight is processed.
    ///
    /// # Errors
    /// [`RunnerError::AgentPanicked`] for the first thread that panicked; the others are
    /// still stopped.
    pub fn stop(mut self) -> Result<Vec<ThreadReport>, RunnerError> {
        let mut reports = Vec::with_capacity(self.threads.len());
        let mut first_error = None;
        for thread in self.threads.drain(..) {
            thread.stop.store(true, Ordering::Release);
            match thread.handle.join() {
                Ok(report) => reports.push(report),
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
}

impl Drop for Runner {
    fn drop(&mut self) {
        for thread in self.threads.drain(..) {
            thread.stop.store(true, Ordering::Release);
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

fn spawn(spec: ThreadSpec) -> Result<RunningThread, RunnerError> {
    let name = spec.name.clone();
    let core = spec.core;
    let stop = Arc::new(AtomicBool::new(false));
    let (started_sender, started_receiver) = mpsc::channel::<bool>();
    let thread_stop = Arc::clone(&stop);
    let handle = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let pinned =
                core.is_none_or(|core| core_affinity::set_for_current(Cores::core_id(core)));
            let _ = started_sender.send(pinned);
            run(spec, &thread_stop, pinned)
        })
        .map_err(|error| RunnerError::SpawnFailed {
            thread: name.clone(),
            reason: error.to_string(),
        })?;
    let thread = RunningThread {
        name: name.clone(),
        stop,
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

/// The thread's whole life: start, duty cycles until stopped, drain, close.
fn run(mut spec: ThreadSpec, stop: &AtomicBool, pinned: bool) -> ThreadReport {
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
    while !stop.load(Ordering::Acquire) {
        let work_count = spec.agent.do_work();
        spec.idle.idle(work_count);
        report.duty_cycles += 1;
        report.work_count += work_count as u64;
    }
    report.drained = drain(&mut spec, &mut report);
    spec.agent.on_close();
    report
}

/// Runs duty cycles until `drain_idle_cycles` in a row find no work while the agent has
/// none pending, or until the timeout. Upstream threads have already stopped (the runner
/// stops in start order), so no new input arrives through the rings meanwhile.
fn drain(spec: &mut ThreadSpec, report: &mut ThreadReport) -> bool {
    let deadline = Instant::now() + spec.drain_timeout;
    let mut idle_cycles = 0;
    loop {
        let work_count = spec.agent.do_work();
        report.duty_cycles += 1;
        report.work_count += work_count as u64;
        if work_count == 0 && !spec.agent.has_pending_work() {
            idle_cycles += 1;
            if idle_cycles >= spec.drain_idle_cycles {
                return true;
            }
        } else {
            idle_cycles = 0;
        }
        if work_count == 0 {
            spec.idle.idle(0);
        }
        // Reading the clock every cycle would slow the drain; every 1024th is enough.
        if report.duty_cycles % 1024 == 0 && Instant::now() >= deadline {
            return false;
        }
    }
}
