//! `scripts/bench.sh report [--quick]`: how long a month's disclosure reports take over
//! a journal of 10 million commands (`docs/REPORTS.md`).
//!
//! **What is measured.** A journal of 10,000,000 commands (`--quick`: 500,000) written by
//! the one-thread engine from the crash-test harness's generator (quotes, client orders
//! of every type, cancels, replaces, locates, venue fills and cancels answering the
//! routes, the day's end every 20,000 commands; one command a millisecond from
//! 2026-11-01, so every command falls in November), no snapshots. Then, timed, what `crossline report` does for
//! that month: the journal replayed through the risk gate and the matcher into the
//! reports' tape, and from it the Rule 605 detailed and summary files, the HTML page
//! with its charts, the 606(a)(1) XML, a 606(b)(3) report and the markouts.
//!
//! **The limits beside it, in the same run:** reading and validating every record of the
//! journal with nothing done with it (`journal_read`: the journal's own floor), and the
//! engine replay alone with no observer (`engine_replay`: what any report computed by
//! replay must pay). `report_vs_engine_replay` is what the reports add on top. No peer
//! publishes Rule 605/606 generation over an engine journal to run beside it.
//!
//! The target is 10 s for the 10-million-command journal. Results go to
//! `target/bench/report.json`.

// Measurement arithmetic converts between f64 and integer counts far inside both ranges.
#![allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use crossline::disclosure::html::Page;
use crossline::disclosure::markouts::Markouts;
use crossline::disclosure::rule605::Report605;
use crossline::disclosure::rule606::{Report606a, Report606b3};
use crossline::disclosure::tape::Tape;
use crossline::disclosure::{month_of, Period};
use crossline::load::Generator;
use crossline_bench::report::{self, CpuShare};
use crossline_bench::Options;
use crossline_engine::{recovery, Engine, Observer};
use crossline_matcher::Event;
use crossline_sequencer::{NoJournal, Sequenced, Stamped};
use crossline_types::Timestamp;
use serde_json::json;

/// The target for the full run, seconds.
const TARGET_S: f64 = 10.0;
/// 2026-11-01 00:00:00 UTC: the journal's first command.
const START_NS: u64 = 1_793_491_200_000_000_000;

struct Routes<'a>(&'a mut Generator);

impl Observer for Routes<'_> {
    fn event(&mut self, _input: &Sequenced, event: &Event) {
        self.0.on_event(event);
    }
}

fn main() -> ExitCode {
    let options = match Options::from_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("report benchmark: {error}");
            return ExitCode::from(2);
        }
    };
    let commands: u64 = if options.quick { 500_000 } else { 10_000_000 };
    let dir = std::env::temp_dir().join(format!("crossline-bench-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let outcome = run(&dir, commands);
    let _ = std::fs::remove_dir_all(&dir);
    match outcome {
        Ok((results, ratios, share)) => report::conclude("report", results, ratios, &share),
        Err(error) => {
            eprintln!("report benchmark: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    dir: &Path,
    commands: u64,
) -> Result<(serde_json::Value, serde_json::Value, CpuShare), String> {
    let text = crossline_config::DEFAULT.to_owned();
    let config = crossline_config::parse(&text).map_err(|e| e.to_string())?;
    eprintln!(
        "writing a journal of {commands} commands in {}",
        dir.display()
    );
    let written = Instant::now();
    {
        let (mut engine, _) = recovery::open(dir, &text).map_err(|e| e.to_string())?;
        let mut generator = Generator::new(&config, 1, 1, 0);
        for n in 0..commands {
            let stamped = Stamped {
                time: Timestamp::new(START_NS + n * 1_000_000),
                command: generator.next_command(),
            };
            engine
                .submit(&stamped, &mut Routes(&mut generator))
                .map_err(|e| e.to_string())?;
        }
    }
    eprintln!("written in {:.1} s", written.elapsed().as_secs_f64());
    let share = CpuShare::start(1);

    // The journal's floor: every record read and validated.
    let started = Instant::now();
    let mut reader =
        crossline_journal::Reader::open(dir, recovery::PAYLOAD_MAX).map_err(|e| e.to_string())?;
    let mut records = 0u64;
    while let Some(run) = reader.next_run(256).map_err(|e| e.to_string())? {
        records += run.len() as u64;
    }
    let read_s = started.elapsed().as_secs_f64();

    // The engine replay alone.
    let started = Instant::now();
    let mut engine = Engine::new(&config, NoJournal).map_err(|e| e.to_string())?;
    let replayed = recovery::replay_from(dir, &mut engine, None, &mut (), &mut |_| {})
        .map_err(|e| e.to_string())?;
    let replay_s = started.elapsed().as_secs_f64();

    // Every report of the month, as `crossline report` makes them.
    let started = Instant::now();
    let tape = Tape::replay(&[dir.to_path_buf()], &mut |_, _, _| {})?;
    let (year, month) = month_of(START_NS);
    let period = Period::month(&format!("{year:04}-{month:02}"))?;
    let rule605 = Report605::compute(&tape, &period, "T", "XCRL");
    let sp500 = ["AAPL".to_owned(), "MSFT".to_owned()];
    let detailed = rule605.detailed();
    let summary = rule605.summary(&sp500);
    let markouts = Markouts::compute(&tape, &period);
    let quarter = Period::quarter(&format!("{year:04}-Q{}", (month - 1) / 3 + 1))?;
    let rule606 = Report606a::compute(&tape, &quarter, "Crossline", &sp500);
    let xml = rule606.xml("2026-12-05T00:00:00Z");
    let b3 = Report606b3::compute(&tape, &period, "Crossline", 1).xml("2026-12-05T00:00:00Z");
    let html = Page {
        tape: &tape,
        period: &period,
        rule605: &rule605,
        markouts: &markouts,
        rule606: Some(&rule606),
    }
    .render()?;
    let csv = markouts.csv();
    let report_s = started.elapsed().as_secs_f64();
    let bytes = detailed.len() + summary.len() + xml.len() + b3.len() + html.len() + csv.len();
    let covered: u64 = rule605.rows.values().map(|r| r.orders).sum();
    if covered == 0 || rule605.rows.is_empty() {
        return Err(
            "the month's 605 report covers no orders: the benchmark measured nothing".to_owned(),
        );
    }
    println!(
        "{records} records; read {read_s:.2} s, engine replay {replay_s:.2} s, reports {report_s:.2} s \
         ({} orders, {} executions, {covered} covered, {} 605 rows, {bytes} bytes written)",
        tape.orders.len(),
        tape.fills.len(),
        rule605.rows.len()
    );
    let results = json!({
        "commands": commands,
        "journal_records": records,
        "journal_read_s": read_s,
        "engine_replay_s": replay_s,
        "engine_replay_records": replayed,
        "report_s": report_s,
        "report_records_per_s": replayed as f64 / report_s,
        "orders": tape.orders.len(),
        "executions": tape.fills.len(),
        "rule605_rows": rule605.rows.len(),
        "target_s": TARGET_S,
        // Only the full run's 10 million commands are the target's measure.
        "target_met": (commands == 10_000_000).then_some(report_s <= TARGET_S),
    });
    let ratios = json!({
        "report_vs_engine_replay": report_s / replay_s,
        "report_vs_journal_read": report_s / read_s,
    });
    Ok((results, ratios, share))
}
