//! The journal harness: the risk gate, the journal and the matcher in one process (the
//! one-thread `Engine`, no sockets or rings) under a steady load, for the kill-and-recover
//! crash tests (`tests/crash.rs`, `scripts/crash-test.sh`). `tests/restart.rs` kills the
//! running pipeline (`crossline run`) instead.
//!
//! - `crossline-harness run --dir D [--seed N] [--commands N] [--snapshot-every N]`
//!   opens (recovering) the engine on journal `D` with the default configuration and
//!   submits generated commands; after each new order is journaled it prints
//!   `ack <client> <client order id> <sequence>` (acknowledged: it will survive a crash).
//! - `crossline-harness check --dir D` recovers the journal as a restart would, replays
//!   the same journal from scratch with no snapshot, and prints both state hashes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use crossline::load::Generator;
use crossline_engine::{recovery, Engine, EngineError, Observer};
use crossline_matcher::Event;
use crossline_sequencer::{Command, NoJournal, Sequenced, Stamped};
use crossline_types::Timestamp;

#[derive(Parser)]
#[command(about = "Drives the gate, journal and matcher for crash tests")]
struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Recover, then submit generated commands until done or killed.
    Run {
        /// The journal directory.
        #[arg(long)]
        dir: PathBuf,
        /// The load generator's seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Commands to submit (default: until killed).
        #[arg(long)]
        commands: Option<u64>,
        /// A snapshot every this many commands (0: none).
        #[arg(long, default_value_t = 5000)]
        snapshot_every: u64,
        /// Journal segment size, MiB (small segments exercise rolling).
        #[arg(long, default_value_t = 64)]
        segment_mib: u64,
    },
    /// Recover, replay from scratch, and print both state hashes.
    Check {
        /// The journal directory.
        #[arg(long)]
        dir: PathBuf,
    },
}

struct Routes<'a>(&'a mut Generator);

impl Observer for Routes<'_> {
    fn event(&mut self, _input: &Sequenced, event: &Event) {
        self.0.on_event(event);
    }
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crossline-harness: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), EngineError> {
    match args.action {
        Action::Run {
            dir,
            seed,
            commands,
            snapshot_every,
            segment_mib,
        } => {
            let text = crossline_config::DEFAULT.replace(
                "segment_mib = 64 ",
                &format!("segment_mib = {segment_mib} "),
            );
            let (mut engine, report) = recovery::open(&dir, &text)?;
            eprintln!("recovered: {report}");
            let next = engine.sequencer().next_sequence().get();
            let config =
                crossline_config::parse(&text).map_err(|e| EngineError::Config(e.to_string()))?;
            let mut generator = Generator::new(&config, seed ^ next, next, snapshot_every);
            let mut time = last_time(&dir, report.last_sequence)?.max(1_700_000_000_000_000_000);
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let _ = writeln!(out, "ready {next}");
            let _ = out.flush();
            let mut submitted = 0u64;
            while commands.is_none_or(|limit| submitted < limit) {
                time += 1_000_000; // a command a millisecond: inside every client's rate
                let command = generator.next_command();
                let stamped = Stamped {
                    time: Timestamp::new(time),
                    command,
                };
                engine.submit(&stamped, &mut Routes(&mut generator))?;
                submitted += 1;
                if let Command::NewOrder(order) = command {
                    let sequence = engine.sequencer().next_sequence().get() - 1;
                    let _ = writeln!(
                        out,
                        "ack {} {} {sequence}",
                        order.client, order.client_order_id
                    );
                    if submitted % 16 == 0 {
                        let _ = out.flush();
                    }
                }
            }
            let _ = writeln!(out, "done {submitted}");
            let _ = out.flush();
            Ok(())
        }
        Action::Check { dir } => {
            // A kill before the first record leaves nothing (or an empty journal) behind.
            let text = match recovery::read_config(&dir) {
                Err(EngineError::NoConfig { .. } | EngineError::Journal(_))
                    if !has_records(&dir) =>
                {
                    println!("recovered nothing journaled");
                    println!("recovered_state none");
                    println!("clean_state none");
                    return Ok(());
                }
                other => other?,
            };
            let (engine, report) = recovery::open(&dir, &text)?;
            println!("recovered {report}");
            println!("recovered_state {:016x}", engine.state_hash()?);
            drop(engine);
            let config =
                crossline_config::parse(&text).map_err(|e| EngineError::Config(e.to_string()))?;
            let mut clean = Engine::new(&config, NoJournal)?;
            let replayed = recovery::replay_from(&dir, &mut clean, None, &mut (), &mut |_| {})?;
            clean.finish_replay();
            println!("clean_replayed {replayed}");
            println!("clean_state {:016x}", clean.state_hash()?);
            Ok(())
        }
    }
}

/// Whether the journal in `dir` holds a record.
fn has_records(dir: &std::path::Path) -> bool {
    crossline_journal::verify(dir, recovery::PAYLOAD_MAX).is_ok_and(|scan| scan.records > 0)
}

/// The last record's time, so generated time goes on increasing after a restart.
fn last_time(dir: &std::path::Path, last: Option<u64>) -> Result<u64, EngineError> {
    let Some(last) = last else {
        return Ok(0);
    };
    let mut reader = crossline_journal::Reader::open(dir, recovery::PAYLOAD_MAX)?;
    reader.seek(last)?;
    Ok(reader.next()?.map_or(0, |entry| entry.timestamp))
}
