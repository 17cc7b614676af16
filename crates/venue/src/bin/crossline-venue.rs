//! `crossline-venue`: plays the venues of a Crossline configuration on loopback and
//! publishes the market-data feed. See the library's documentation for what it does.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use crossline_venue::Simulator;

/// Plays the configured external venues on loopback and publishes the feed.
#[derive(Parser)]
#[command(name = "crossline-venue", version)]
struct Args {
    /// The Crossline configuration whose [[venues]], [simulator], symbols and
    /// [market_data] to use (default: the embedded one).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where to publish the feed (default: the configuration's [market_data] listen).
    #[arg(long)]
    feed_to: Option<SocketAddr>,
    /// Also record every feed packet to this file (replayable by the engine).
    #[arg(long)]
    record: Option<PathBuf>,
    /// Stop after this many seconds (default: run until killed).
    #[arg(long)]
    seconds: Option<u64>,
    /// Print what was done every this many seconds (0: only at the end).
    #[arg(long, default_value_t = 5)]
    report_every: u64,
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let text = match &args.config {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("crossline-venue: {}: {error}", path.display());
                return ExitCode::from(2);
            }
        },
        None => crossline_config::DEFAULT.to_owned(),
    };
    let config = match crossline_config::parse(&text) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("crossline-venue: configuration: {error}");
            return ExitCode::from(2);
        }
    };
    let feed_to = args.feed_to.unwrap_or(config.network.market_data.listen);
    let mut simulator = match Simulator::new(&config, feed_to) {
        Ok(simulator) => simulator,
        Err(error) => {
            eprintln!("crossline-venue: {error}");
            return ExitCode::from(1);
        }
    };
    if let Some(path) = &args.record {
        if let Err(error) = simulator.record_feed(path) {
            eprintln!("crossline-venue: {}: {error}", path.display());
            return ExitCode::from(1);
        }
    }
    for venue in &config.router.venues {
        let address = simulator.venue_address(venue.id).unwrap_or(venue.address);
        let fee = venue.fee_per_share;
        println!(
            "venue {} ({}) at {address}, fee {fee}/share",
            venue.id, venue.name
        );
    }
    println!("publishing the feed to {feed_to}");
    let start = Instant::now();
    let mut last_report = Instant::now();
    loop {
        if let Err(error) = simulator.poll(now_ns(), Some(Duration::from_millis(1))) {
            eprintln!("crossline-venue: {error}");
            return ExitCode::from(1);
        }
        let done = args
            .seconds
            .is_some_and(|seconds| start.elapsed() >= Duration::from_secs(seconds));
        if done || (args.report_every > 0 && last_report.elapsed().as_secs() >= args.report_every) {
            last_report = Instant::now();
            let s = simulator.stats();
            println!(
                "logons {} · children {} · fills {} ({} shares) · cancels {} · rejects {} · \
                 feed packets {}",
                s.logons, s.children, s.fills, s.shares, s.cancels, s.rejects, s.packets
            );
        }
        if done {
            break;
        }
    }
    if let Err(error) = simulator.finish_recording() {
        eprintln!("crossline-venue: {error}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
