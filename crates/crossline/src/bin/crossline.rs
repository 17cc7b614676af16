//! The `crossline` command:
//! - `crossline run --config FILE --journal DIR`: the engine, until interrupted;
//! - `crossline demo`: the engine with simulated venues and clients, then a summary;
//! - `crossline stat`: a running engine's live counters, every second;
//! - `crossline metrics`: the same counters served to Prometheus;
//! - `crossline admin …`: an operator command to a running engine's admin port;
//! - `crossline replay DIR`: a journal replayed through the risk gate and the matcher
//!   (`docs/JOURNAL.md`);
//! - `crossline report 605|606a|606b3|markouts`: disclosure reports from journals
//!   (`docs/REPORTS.md`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use crossline::demo::DemoOptions;
use crossline::report::{Audit, Both, Digest, Summary};
use crossline_engine::{recovery, snapshot, Engine, EngineError, Observer};
use crossline_sequencer::NoJournal;

use crossline::run;

#[derive(Parser)]
#[command(
    name = "crossline",
    version,
    about = "Crossline order internalization engine"
)]
struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Send an operator command to a running engine's admin port (docs/OPERATIONS.md):
    /// kill switches, halts, the restricted list, limits, locates, end of day.
    Admin(crossline::admin_cli::AdminArgs),
    /// Run the engine: clients, market data and venues as the configuration says, the
    /// journal in DIR (recovered if it exists), until SIGINT or SIGTERM.
    Run {
        /// The configuration file (TOML; docs/CONFIGURATION.md).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The journal directory (created if missing; recovered if it holds a journal).
        #[arg(long, value_name = "DIR")]
        journal: PathBuf,
    },
    /// Run the engine with the venue simulator and simulated clients on loopback, then
    /// print what happened.
    Demo {
        /// How long the clients trade, in seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// New orders per second, all clients together.
        #[arg(long, default_value_t = 2000)]
        rate: u32,
        /// A configuration file instead of the embedded default.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The journal directory (default: a new one under the temporary directory).
        #[arg(long, value_name = "DIR")]
        journal: Option<PathBuf>,
        /// Seed of the clients' orders.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Add a client trading on FIX 4.4 and a FIX 4.2 drop copy (docs/FIX.md).
        #[arg(long)]
        fix: bool,
    },
    /// Show a running engine's live counters, refreshed every second.
    Stat {
        /// The engine's journal directory (its counters file is there).
        #[arg(long, value_name = "DIR", conflicts_with = "counters")]
        journal: Option<PathBuf>,
        /// The counters file itself.
        #[arg(long, value_name = "FILE")]
        counters: Option<PathBuf>,
        /// Seconds between refreshes.
        #[arg(long, default_value_t = 1.0)]
        interval: f64,
        /// Stop after this many refreshes.
        #[arg(long)]
        count: Option<u64>,
    },
    /// Serve a running engine's live counters to Prometheus: `GET /metrics` on ADDR
    /// (docs/OPERATIONS.md), until interrupted.
    Metrics {
        /// The engine's journal directory (its counters file is there).
        #[arg(long, value_name = "DIR", conflicts_with = "counters")]
        journal: Option<PathBuf>,
        /// The counters file itself.
        #[arg(long, value_name = "FILE")]
        counters: Option<PathBuf>,
        /// Where to listen for scrapes (port 0: a free one, printed at start).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9102")]
        listen: std::net::SocketAddr,
    },
    /// Disclosure reports from journals (docs/REPORTS.md): Rule 605, Rule 606(a)(1) and
    /// 606(b)(3), markouts, with an HTML page of charts.
    Report(crossline::disclosure::cli::ReportArgs),
    /// Replay a journal through the risk gate and the matcher and print a summary.
    Replay {
        /// The journal directory.
        journal_dir: PathBuf,
        /// Replay twice and compare every output and the final state bit for bit, and
        /// check the state at each snapshot in the directory against the replay's; exit
        /// with status 1 on any difference.
        #[arg(long)]
        verify: bool,
        /// Stop after this sequence number and print the state there.
        #[arg(long, value_name = "SEQ")]
        until: Option<u64>,
        /// Write a CAT-style audit trail of every order event to this CSV file.
        #[arg(long, value_name = "FILE")]
        audit: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match Args::parse().action {
        Action::Admin(args) => crossline::admin_cli::run(args),
        Action::Report(args) => match crossline::disclosure::cli::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("crossline report: {error}");
                ExitCode::from(2)
            }
        },
        Action::Replay {
            journal_dir,
            verify,
            until,
            audit,
        } => match replay(&journal_dir, verify, until, audit.as_deref()) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(error) => {
                eprintln!("crossline replay: {error}");
                ExitCode::from(2)
            }
        },
        Action::Run { config, journal } => match run::run(&config, &journal) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("crossline run: {error}");
                ExitCode::from(2)
            }
        },
        Action::Demo {
            seconds,
            rate,
            config,
            journal,
            seed,
            fix,
        } => demo(seconds, rate, config, journal, seed, fix),
        Action::Stat {
            journal,
            counters,
            interval,
            count,
        } => stat(journal, counters, interval, count),
        Action::Metrics {
            journal,
            counters,
            listen,
        } => metrics(journal, counters, listen),
    }
}

fn metrics(
    journal: Option<PathBuf>,
    counters: Option<PathBuf>,
    listen: std::net::SocketAddr,
) -> ExitCode {
    let Some(path) = counters_file("metrics", journal, counters) else {
        return ExitCode::from(2);
    };
    let served = crossline::metrics::serve(path.clone(), listen, |address| {
        println!(
            "crossline metrics: serving {} at http://{address}/metrics",
            path.display()
        );
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crossline metrics: {error}");
            ExitCode::from(1)
        }
    }
}

/// The counters file `--counters` names, or the one in `--journal`'s directory (its name
/// from the journal's own configuration); `None` (after saying so) when neither is given.
fn counters_file(
    command: &str,
    journal: Option<PathBuf>,
    counters: Option<PathBuf>,
) -> Option<PathBuf> {
    match (journal, counters) {
        (_, Some(path)) => Some(path),
        (Some(dir), None) => Some(
            match recovery::read_config(&dir)
                .map_err(|e| e.to_string())
                .and_then(|text| crossline_config::parse(&text).map_err(|e| e.to_string()))
            {
                Ok(config) => crossline_pipeline::counters_path(&config, &dir),
                Err(_) => dir.join("crossline.counters"),
            },
        ),
        (None, None) => {
            eprintln!(
                "crossline {command}: give --journal DIR (the engine's journal directory) or \
                 --counters FILE"
            );
            None
        }
    }
}

fn demo(
    seconds: f64,
    rate: u32,
    config: Option<PathBuf>,
    journal: Option<PathBuf>,
    seed: u64,
    fix: bool,
) -> ExitCode {
    let mut options = DemoOptions::new();
    options.fix = fix;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        eprintln!("crossline demo: --seconds {seconds}: must be above 0 and at most 86400");
        return ExitCode::from(2);
    }
    if rate == 0 {
        eprintln!("crossline demo: --rate 0: must be at least 1 order per second");
        return ExitCode::from(2);
    }
    options.duration = Duration::from_secs_f64(seconds);
    options.orders_per_second = rate;
    options.seed = seed;
    if let Some(path) = config {
        match std::fs::read_to_string(&path) {
            Ok(text) => options.config_text = text,
            Err(error) => {
                eprintln!("crossline demo: --config {}: {error}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    if let Some(dir) = journal {
        options.journal_dir = dir;
        options.keep_journal = true;
    }
    match crossline::demo::run(&options) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("crossline demo: {error}");
            ExitCode::from(1)
        }
    }
}

fn stat(
    journal: Option<PathBuf>,
    counters: Option<PathBuf>,
    interval: f64,
    count: Option<u64>,
) -> ExitCode {
    if !(0.01..=3600.0).contains(&interval) {
        eprintln!("crossline stat: --interval {interval}: must be from 0.01 to 3600 seconds");
        return ExitCode::from(2);
    }
    let Some(path) = counters_file("stat", journal, counters) else {
        return ExitCode::from(2);
    };
    match crossline::stat::watch(&path, Duration::from_secs_f64(interval), count) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crossline stat: {}: {error}", path.display());
            ExitCode::from(1)
        }
    }
}

/// A progress bar on standard error, for long replays on a terminal.
struct Progress {
    total: u64,
    last_sequence: u64,
    done: u64,
    started: Instant,
    shown: Instant,
    enabled: bool,
}

impl Progress {
    fn new(total: u64, last_sequence: u64) -> Progress {
        Progress {
            total,
            last_sequence: last_sequence.max(1),
            done: 0,
            started: Instant::now(),
            shown: Instant::now(),
            enabled: std::io::stderr().is_terminal() && total > 100_000,
        }
    }

    fn tick(&mut self, sequence: u64) {
        self.done += 1;
        if !self.enabled || self.done % 4096 != 0 || self.shown.elapsed().as_millis() < 200 {
            return;
        }
        self.shown = Instant::now();
        let fraction = (sequence as f64 / self.last_sequence as f64).min(1.0);
        let filled = (1..=30)
            .filter(|step| f64::from(*step) <= fraction * 30.0)
            .count();
        let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        eprint!(
            "\rreplay [{}{}] {:>5.1}%  {}/{} records  {:.2} M/s ",
            "#".repeat(filled),
            ".".repeat(30 - filled),
            fraction * 100.0,
            self.done,
            self.total,
            rate / 1e6
        );
    }

    fn finish(&self) {
        if self.enabled {
            eprintln!();
        }
    }
}

/// Runs one full replay from the journal's first record.
fn run_once(
    dir: &Path,
    config: &crossline_config::Config,
    until: Option<u64>,
    observer: &mut impl Observer,
    progress: &mut Progress,
) -> Result<(Engine<NoJournal>, u64), EngineError> {
    let mut engine = Engine::new(config, NoJournal)?;
    let replayed =
        recovery::replay_from(dir, &mut engine, until, observer, &mut |s| progress.tick(s))?;
    if until.is_none() {
        engine.finish_replay();
    }
    progress.finish();
    Ok((engine, replayed))
}

fn replay(
    dir: &Path,
    verify: bool,
    until: Option<u64>,
    audit: Option<&Path>,
) -> Result<bool, EngineError> {
    let scan = crossline_journal::verify(dir, recovery::PAYLOAD_MAX)?;
    if let Some(torn) = &scan.torn {
        eprintln!("note: {torn} (not cleared: replay only reads)");
    }
    let text = recovery::read_config(dir)?;
    let config = crossline_config::parse(&text).map_err(|e| EngineError::Config(e.to_string()))?;
    let last = scan.last_sequence.unwrap_or(0);
    let mut summary = Summary::default();
    let mut digest = Digest::default();
    let mut trail = match audit {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| {
                EngineError::Config(format!("cannot create audit file {}: {e}", path.display()))
            })?;
            Some(Audit::new(
                std::io::BufWriter::new(file),
                &config.symbol_names,
            ))
        }
        None => None,
    };
    let started = Instant::now();
    let mut progress = Progress::new(scan.records, until.unwrap_or(last).min(last));
    let (engine, replayed) = {
        let mut both = Both(&mut summary, &mut digest);
        let mut observer = Both(&mut both, &mut trail);
        run_once(dir, &config, until, &mut observer, &mut progress)?
    };
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "journal      {} ({} records through sequence {last})",
        dir.display(),
        scan.records
    );
    println!(
        "replayed     {replayed} command records in {elapsed:.3} s ({:.2} M records/s)",
        replayed as f64 / elapsed.max(1e-9) / 1e6
    );
    print!("{summary}");
    let state = engine.state_hash()?;
    println!(
        "output hash  {:016x} ({} items)",
        digest.value(),
        digest.items
    );
    println!("state hash   {state:016x}");
    if let Some(trail) = trail {
        let lines = trail.lines;
        let path = audit.map(Path::display);
        trail
            .finish()
            .map_err(|e| EngineError::Config(format!("writing the audit trail: {e}")))?;
        if let Some(path) = path {
            println!("audit trail  {lines} events written to {path}");
        }
    }
    if let Some(until) = until {
        let clients: Vec<_> = config.risk.clients.iter().map(|c| c.client).collect();
        println!("state after sequence {until}:");
        print!(
            "{}",
            crossline::report::state_text(&engine, &config.symbol_names, &clients)
        );
    }
    if !verify {
        return Ok(true);
    }
    let mut ok = true;
    let mut second = Digest::default();
    let mut quiet = Progress::new(scan.records, last);
    quiet.enabled = false;
    let (again, _) = run_once(dir, &config, until, &mut second, &mut quiet)?;
    let state_again = again.state_hash()?;
    if second.value() == digest.value() && state_again == state {
        println!(
            "verify       two replays agree: outputs {:016x}, state {state:016x}",
            digest.value()
        );
    } else {
        ok = false;
        println!(
            "verify       MISMATCH between two replays: outputs {:016x} vs {:016x}, state {state:016x} vs {state_again:016x}",
            digest.value(),
            second.value()
        );
    }
    let hash = recovery::config_hash(&text);
    let cuts: std::collections::BTreeMap<u64, u64> = summary.cuts.iter().copied().collect();
    for (cut, path) in snapshot::list(dir).map_err(|e| EngineError::Snapshot(e.to_string()))? {
        if until.is_some_and(|until| cut > until) {
            continue;
        }
        match (snapshot::read(&path, hash), cuts.get(&cut)) {
            (Ok(recorded), Some(replayed)) if recorded.state_hash == *replayed => {
                println!("verify       snapshot {cut}: recorded state equals the replay's ({replayed:016x})");
            }
            (Ok(recorded), Some(replayed)) => {
                ok = false;
                println!(
                    "verify       MISMATCH at snapshot {cut}: recorded {:016x}, replay {replayed:016x}",
                    recorded.state_hash
                );
            }
            (Ok(_), None) => {
                ok = false;
                println!(
                    "verify       MISMATCH: snapshot {cut} has no Snapshot command in the journal"
                );
            }
            (Err(why), _) => {
                ok = false;
                println!("verify       snapshot {cut} unreadable: {why}");
            }
        }
    }
    Ok(ok)
}
