//! `crossline report …`: the disclosure reports from journals, written into a directory
//! (`docs/REPORTS.md`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Subcommand};

use super::html::Page;
use super::markouts::Markouts;
use super::rule605::Report605;
use super::rule606::{Report606a, Report606b3};
use super::tape::Tape;
use super::Period;

/// `crossline report`'s arguments.
#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(subcommand)]
    report: Which,
    /// The journal directories to read (one per trading day, any order).
    #[arg(long = "journal", value_name = "DIR", num_args = 1.., global = true)]
    journals: Vec<PathBuf>,
    /// Where the report files go (created if missing).
    #[arg(long, value_name = "DIR", default_value = "reports", global = true)]
    out: PathBuf,
    /// The broker-dealer's name, as the reports print it.
    #[arg(long, default_value = "Crossline Securities LLC", global = true)]
    bd: String,
    /// Symbols in the S&P 500 (comma-separated); the others count as other NMS stocks.
    #[arg(long, value_delimiter = ',', global = true)]
    sp500: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum Which {
    /// The amended Rule 605 detailed and summary reports of a month, with the HTML page.
    #[command(name = "605")]
    Rule605 {
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// The designated participant's code (the SRO the firm reports through; T:
        /// FINRA).
        #[arg(long, default_value = "T")]
        participant: String,
        /// The reporting entity code (default: the market identifier, `[fix] market`).
        #[arg(long)]
        entity: Option<String>,
    },
    /// The Rule 606(a)(1) quarterly routing report (SEC XML and HTML).
    #[command(name = "606a")]
    Rule606a {
        /// The quarter, YYYY-Qn.
        #[arg(long)]
        quarter: String,
    },
    /// The Rule 606(b)(3) report for one client (SEC XML).
    #[command(name = "606b3")]
    Rule606b3 {
        /// The client id.
        #[arg(long)]
        client: u32,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD (at most six calendar months after the first).
        #[arg(long)]
        to: String,
    },
    /// Markouts per client and symbol, and each client's flow class.
    Markouts {
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
    },
}

/// Runs `crossline report`.
///
/// # Errors
/// A message naming what failed: an argument, a journal, a file.
pub fn run(args: ReportArgs) -> Result<(), String> {
    if args.journals.is_empty() {
        return Err("no journal: name one or more with --journal DIR".to_owned());
    }
    let period = match &args.report {
        Which::Rule605 { month, .. } | Which::Markouts { month } => Period::month(month)?,
        Which::Rule606a { quarter } => Period::quarter(quarter)?,
        Which::Rule606b3 { from, to, .. } => {
            let period = Period::days(from, to)?;
            if period.months().len() > 6 {
                return Err(format!(
                    "--from {from} --to {to}: a 606(b)(3) report covers at most six months"
                ));
            }
            period
        }
    };
    let started = Instant::now();
    let tape = replay(&args.journals)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let stamp = timestamp();
    let mut written = Vec::new();
    match &args.report {
        Which::Rule605 {
            participant,
            entity,
            ..
        } => {
            let entity = entity.clone().unwrap_or_else(|| tape.market.clone());
            let report = Report605::compute(&tape, &period, participant, &entity);
            let markouts = Markouts::compute(&tape, &period);
            let name = format!("{entity}{}", report.month);
            written.push(write(
                &args.out,
                &format!("{name}.txt"),
                &report.detailed(),
            )?);
            written.push(write(
                &args.out,
                &format!("{name}-summary.csv"),
                &report.summary(&args.sp500),
            )?);
            let page = Page {
                tape: &tape,
                period: &period,
                rule605: &report,
                markouts: &markouts,
                rule606: None,
            };
            written.push(write(&args.out, &format!("{name}.html"), &page.render()?)?);
            let covered: u64 = report.rows.values().map(|r| r.orders).sum();
            println!(
                "605 {}: {} rows, {covered} covered orders ({} not covered: {:?})",
                period.label,
                report.rows.len(),
                report.not_covered.values().sum::<u64>(),
                report.not_covered
            );
        }
        Which::Rule606a { .. } => {
            let report = Report606a::compute(&tape, &period, &args.bd, &args.sp500);
            let name = format!("606a-{}", period.label);
            written.push(write(
                &args.out,
                &format!("{name}.xml"),
                &report.xml(&stamp),
            )?);
            let mut html = format!(
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Rule 606(a)(1) {0}</title><style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:2px 6px;text-align:right}}</style></head><body>\n<h1>{1}: Rule 606(a)(1) held NMS stock order routing, {0}</h1>\n",
                period.label,
                super::rule606::escape(&args.bd)
            );
            html.push_str(&report.html_tables());
            html.push_str("</body></html>\n");
            written.push(write(&args.out, &format!("{name}.html"), &html)?);
        }
        Which::Rule606b3 { client, .. } => {
            let report = Report606b3::compute(&tape, &period, &args.bd, *client);
            let name = format!("606b3-client{client}-{}", period.label.replace("..", "_"));
            written.push(write(
                &args.out,
                &format!("{name}.xml"),
                &report.xml(&stamp),
            )?);
        }
        Which::Markouts { .. } => {
            let markouts = Markouts::compute(&tape, &period);
            let name = format!("markouts-{}", period.label);
            written.push(write(&args.out, &format!("{name}.csv"), &markouts.csv())?);
            let classes = write(
                &args.out,
                &format!("{name}-classes.csv"),
                &markouts.classification_csv(),
            )?;
            print!("{}", markouts.classification_csv());
            println!(
                "load the multipliers into a running engine: crossline admin improvement load {}",
                classes.display()
            );
            written.push(classes);
        }
    }
    for path in written {
        println!("wrote {}", path.display());
    }
    println!(
        "{} orders, {} executions from {} journal(s) in {:.2} s",
        tape.orders.len(),
        tape.fills.len(),
        tape.journals.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The tape of `journals`, with a progress bar on a terminal.
fn replay(journals: &[PathBuf]) -> Result<Tape, String> {
    let bar = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut shown = Instant::now();
    let mut records = 0u64;
    let tape = Tape::replay(journals, &mut |dir, sequence, last| {
        records += 1;
        if bar && records % 65_536 == 0 && shown.elapsed().as_millis() >= 200 {
            shown = Instant::now();
            let fraction = (sequence as f64 / last.max(1) as f64).min(1.0);
            let filled = (1..=30)
                .filter(|step| f64::from(*step) <= fraction * 30.0)
                .count();
            eprint!(
                "\rreport {} [{}{}] {:>5.1}%  {:.2} M records/s ",
                dir.display(),
                "#".repeat(filled),
                ".".repeat(30 - filled),
                fraction * 100.0,
                records as f64 / started.elapsed().as_secs_f64().max(1e-9) / 1e6
            );
        }
    })?;
    if bar && records >= 65_536 {
        eprintln!();
    }
    Ok(tape)
}

fn write(dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// Now, UTC, as `YYYY-MM-DDThh:mm:ssZ` (the reports' generation stamp; not part of any
/// figure).
fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let date = super::date_of(now * 1_000_000_000);
    let seconds = now % 86_400;
    format!(
        "{date}T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}
