//! `crossline run`: the engine on a configuration file and a journal directory, until
//! SIGINT or SIGTERM, or until an agent meets a fatal error.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossline_agent::Cores;
use crossline_pipeline::Pipeline;

/// Why the engine could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration file could not be read or is invalid.
    #[error("{path}: {error}")]
    Config {
        /// The file.
        path: String,
        /// What is wrong.
        error: String,
    },
    /// The journal could not be opened or recovered.
    #[error("journal: {0}")]
    Engine(#[from] crossline_engine::EngineError),
    /// The pipeline could not start or stop.
    #[error("{0}")]
    Pipeline(#[from] crossline_pipeline::PipelineError),
    /// An agent met a fatal error; the journal holds everything acknowledged.
    #[error("stopped on a fault: {0} (restart on the same journal to recover)")]
    Fault(String),
}

/// Set by SIGINT and SIGTERM.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Release);
}

fn catch_signals() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `on_signal` only stores to an atomic, which is async-signal-safe, and
        // has the signature `signal` expects.
        unsafe { libc::signal(signal, on_signal as *const () as libc::sighandler_t) };
    }
}

/// Runs the engine on the configuration in `config_path` over the journal in
/// `journal_dir` until a signal or a fault.
///
/// # Errors
/// [`RunError`] naming what could not start, or the fault that stopped it.
pub fn run(config_path: &Path, journal_dir: &Path) -> Result<(), RunError> {
    let config_error = |error: String| RunError::Config {
        path: config_path.display().to_string(),
        error,
    };
    let text = std::fs::read_to_string(config_path).map_err(|e| config_error(e.to_string()))?;
    let config = crossline_config::parse(&text).map_err(|e| config_error(e.to_string()))?;
    std::fs::create_dir_all(journal_dir).map_err(|e| RunError::Config {
        path: journal_dir.display().to_string(),
        error: e.to_string(),
    })?;
    let (pipeline, report) = Pipeline::open(&config, &text, journal_dir, &Cores::detect())?;
    println!("crossline: {report}");
    println!("clients: {}", pipeline.client_address());
    println!("admin: {}", pipeline.admin_address());
    if let Some(fix) = pipeline.fix_address() {
        println!("fix: {fix}");
    }
    println!("market data: {}", pipeline.feed_address());
    println!("counters: {}", pipeline.counters_path().display());
    for thread in pipeline.plan() {
        let agents: Vec<&str> = thread.agents.iter().map(|a| a.name()).collect();
        println!(
            "thread {}: {} ({}, idle {})",
            thread.name,
            agents.join(", "),
            thread
                .core
                .map_or_else(|| "unpinned".to_owned(), |core| format!("core {core}")),
            thread.idle
        );
    }
    catch_signals();
    let fault = loop {
        std::thread::sleep(Duration::from_millis(50));
        if let Some(fault) = pipeline.fault() {
            break Some(fault);
        }
        if STOP.load(Ordering::Acquire) {
            break None;
        }
    };
    let stopped = pipeline.stop()?;
    for thread in &stopped.threads {
        println!(
            "thread {}: {} duty cycles, {} units of work{}",
            thread.name,
            thread.duty_cycles,
            thread.work_count,
            if thread.drained { "" } else { ", NOT drained" }
        );
    }
    match fault {
        Some(fault) => Err(RunError::Fault(fault)),
        None => Ok(()),
    }
}
