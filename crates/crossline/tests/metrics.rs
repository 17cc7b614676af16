//! `crossline metrics` beside a real `crossline run`, as a monitoring team scrapes it:
//! the engine's counters and the reply-latency histogram on `GET /metrics`, in a text
//! format `promtool check metrics` accepts (scripts/test.sh installs Debian's
//! `prometheus` package for it and sets `CROSSLINE_REQUIRE_PROMTOOL=1`).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{config, send_quote, start_all, CROSSLINE};
use crossline::client::Client;
use crossline_protocol::client::{Inbound, Outbound};
use crossline_types::{
    Capacity, ClientOrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
};

/// The exporter, stopped when the test ends.
struct Exporter(Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` on `address`: the status code and the body.
fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_owned());
    (status, body)
}

fn sample(body: &str, name: &str) -> f64 {
    body.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {name} in\n{body}"))
        .parse()
        .unwrap()
}

#[test]
fn metrics_serves_the_engines_counters_and_reply_latency_in_the_prometheus_format() {
    let dir = std::env::temp_dir().join(format!("crossline-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config_path = dir.join("config.toml");
    std::fs::write(&config_path, config(&[])).unwrap();
    let journal = dir.join("journal");
    let started = start_all(&config_path, &journal);
    send_quote(started.feed, 1);
    std::thread::sleep(Duration::from_millis(100));

    let mut exporter = Command::new(CROSSLINE)
        .args(["metrics", "--listen", "127.0.0.1:0", "--journal"])
        .arg(&journal)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let first = BufReader::new(exporter.stdout.take().unwrap())
        .lines()
        .next()
        .expect("crossline metrics prints where it serves")
        .unwrap();
    let exporter = Exporter(exporter);
    let address: SocketAddr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .parse()
        .unwrap();

    // Ten resting orders, each answered.
    let (mut client, _) =
        Client::logon(started.clients, 1, "demo-secret-1", Duration::from_secs(5)).unwrap();
    for id in 1..=10 {
        client
            .send(&Inbound::NewOrder {
                client_order_id: ClientOrderId::new(id),
                symbol: SymbolId::new(1),
                quantity: Quantity::new(100),
                price: Price::from_micros(185_000_000),
                side: Side::Buy,
                order_type: OrderType::Limit,
                time_in_force: TimeInForce::Day,
                capacity: Capacity::Agency,
            })
            .unwrap();
        match client.receive_within(Duration::from_secs(5)).unwrap() {
            Some((_, Outbound::Accepted { .. })) => {}
            other => panic!("order {id}: {other:?}"),
        }
    }
    // The counters are published every 10 ms.
    std::thread::sleep(Duration::from_millis(100));

    let (status, body) = get(address, "/metrics");
    assert_eq!(status, 200, "{body}");
    assert_eq!(sample(&body, "crossline_orders_accepted_total"), 10.0);
    assert_eq!(sample(&body, "crossline_engine_up"), 1.0);
    assert!(body.contains("# TYPE crossline_ring_commands_depth gauge"));
    assert!(body.contains("# TYPE crossline_reply_latency_seconds histogram"));
    // Every accepted order's reply is in the histogram, and below a second.
    assert_eq!(sample(&body, "crossline_reply_latency_seconds_count"), 10.0);
    assert_eq!(
        sample(&body, "crossline_reply_latency_seconds_bucket{le=\"0.1\"}"),
        10.0
    );
    assert!(
        sample(
            &body,
            "crossline_reply_latency_recent_seconds{quantile=\"0.99\"}"
        ) <= 0.1
    );
    assert_eq!(get(address, "/nothing").0, 404);
    dashboard_names_are_served(&body);

    match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(mut promtool) => {
            promtool
                .stdin
                .take()
                .unwrap()
                .write_all(body.as_bytes())
                .unwrap();
            let output = promtool.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "promtool check metrics refused the page:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Err(error) => {
            assert!(
                std::env::var_os("CROSSLINE_REQUIRE_PROMTOOL").is_none(),
                "promtool is required here and could not run: {error}"
            );
            eprintln!("promtool not found ({error}): the page was not checked by it");
        }
    }

    // With the engine gone, the file stays readable and says so.
    drop(started);
    std::thread::sleep(Duration::from_millis(200));
    let (status, body) = get(address, "/metrics");
    assert_eq!(status, 200);
    assert_eq!(sample(&body, "crossline_engine_up"), 0.0);
    drop(exporter);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every metric docs/grafana-dashboard.json queries by name is on the page (a name that
/// a regular expression continues, `crossline_ring_.*_depth`, must start some name).
fn dashboard_names_are_served(body: &str) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/grafana-dashboard.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 5);
    let mut checked = 0;
    for expr in panels
        .iter()
        .flat_map(|panel| panel["targets"].as_array().unwrap())
        .map(|target| target["expr"].as_str().unwrap())
    {
        let mut rest = expr;
        while let Some(at) = rest.find("crossline_") {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[at + name.len()..];
            let served = if rest.starts_with('.') {
                body.lines().any(|line| line.starts_with(&name))
            } else {
                body.lines().any(|line| {
                    line.strip_prefix(&name)
                        .is_some_and(|after| after.starts_with([' ', '{']))
                })
            };
            assert!(
                served,
                "the dashboard queries {name} ({expr}), which is not served"
            );
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} names checked");
}
