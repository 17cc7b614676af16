//! What start-up promises before the engine trades: a configuration that cannot start is
//! refused before the journal is written (so the corrected file starts on it), a
//! restart may change operational settings but not what replay depends on, and nothing
//! the engine leaves on disk holds a client's secret or is readable by everyone.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

mod common;

use common::{config_text, entry, fresh_dir, no_venues, resting_buy, set, Client, Engine};
use crossline_engine::recovery;
use toml::{Table, Value};

/// Two listed threads with one name (and both agents groups placed).
fn threads_named_twice(doc: &mut Table) {
    let thread = |name: &str, agents: &[&str]| {
        let mut thread = Table::new();
        thread.insert("name".into(), name.into());
        thread.insert(
            "agents".into(),
            Value::Array(agents.iter().map(|a| Value::from(*a)).collect()),
        );
        Value::Table(thread)
    };
    let pipeline = doc.get_mut("pipeline").unwrap().as_table_mut().unwrap();
    pipeline.remove("placement");
    pipeline.insert(
        "threads".into(),
        Value::Array(vec![
            thread("io", &["order_ingress", "market_data", "egress"]),
            thread("io", &["sequencer", "matcher"]),
        ]),
    );
}

/// One thread pinned to a core no machine here has.
fn pinned_to_core_999(doc: &mut Table) {
    common::one_thread(doc);
    let threads = doc["pipeline"]["threads"].as_array().unwrap().clone();
    let mut thread = threads[0].as_table().unwrap().clone();
    thread.insert("core".into(), 999.into());
    set(
        doc,
        "pipeline.threads",
        Value::Array(vec![Value::Table(thread)]),
    );
}

fn journal_is_untouched(dir: &Path) {
    let segments = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "cxj"))
                .count()
        })
        .unwrap_or(0);
    assert!(
        recovery::read_config(dir).is_err(),
        "no configuration record was journaled ({segments} segments)"
    );
}

#[test]
fn a_configuration_that_cannot_start_leaves_the_journal_for_the_corrected_one() {
    let dir = fresh_dir("start-checks");
    // Refused by parsing: two threads named "io".
    let twice = config_text(|doc| {
        no_venues(doc);
        threads_named_twice(doc);
    });
    let error = crossline_config::parse(&twice).unwrap_err().to_string();
    assert!(error.contains("name = \"io\""), "{error}");

    // Parses, but cannot run here: refused before the journal is opened.
    let core_999 = config_text(|doc| {
        no_venues(doc);
        pinned_to_core_999(doc);
    });
    let error = Engine::try_start(&dir, &core_999).err().expect("refused");
    assert!(error.contains("core 999"), "{error}");
    journal_is_untouched(&dir);

    // A port already taken: refused before the journal is opened.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = config_text(|doc| {
        no_venues(doc);
        set(
            doc,
            "gateway.listen",
            taken.local_addr().unwrap().to_string(),
        );
    });
    let error = Engine::try_start(&dir, &busy_port).err().expect("refused");
    assert!(error.contains("network"), "{error}");
    journal_is_untouched(&dir);

    // The corrected file starts on the same directory.
    let fixed = config_text(no_venues);
    let mut engine = Engine::try_start(&dir, &fixed).expect("the corrected file starts");
    let _client = Client::logon(engine.address, 1);
    engine.stop();
}

#[test]
fn a_restart_may_change_operational_settings_but_not_what_replay_depends_on() {
    let first = config_text(no_venues);
    let (dir, _) = Engine::start(&first).stop_keeping_journal();

    // Operational: another thread plan, ring size, durability and a rotated secret.
    let operational = config_text(|doc| {
        no_venues(doc);
        common::one_thread(doc);
        set(doc, "journal.durability", "sync_per_batch");
        entry(doc, "clients", 0).insert("secret".into(), "rotated-secret-1".into());
    });
    let engine = Engine::try_start(&dir, &operational).expect("operational changes start");
    // The rotated secret is the one that logs on.
    let _client = Client::logon_as(engine.address, 1, "rotated-secret-1", 30_000);
    let (dir, _) = engine.stop_keeping_journal();

    // What replay depends on: a client's limit.
    let limits = config_text(|doc| {
        no_venues(doc);
        entry(doc, "clients", 0).insert("credit_limit".into(), "1000".into());
    });
    let error = Engine::try_start(&dir, &limits).err().expect("refused");
    assert!(
        error.contains("changes the risk limits and clients") && error.contains("new journal"),
        "{error}"
    );
    // The first configuration still starts.
    let mut engine = Engine::try_start(&dir, &first).expect("the journal's own configuration");
    engine.stop();
}

#[test]
fn the_journal_keeps_no_secret_and_nothing_on_disk_is_world_readable() {
    let text = config_text(|doc| {
        no_venues(doc);
        set(doc, "journal.snapshot_every", 5);
    });
    assert!(text.contains("demo-secret-1"));
    // A directory the engine makes itself.
    let dir = fresh_dir("modes").join("journal");
    let mut engine = Engine::try_start(&dir, &text).expect("starts");
    let mut client = Client::logon(engine.address, 1);
    for id in 1..=12 {
        client.send(&resting_buy(id));
        let _ = client.receive();
    }
    engine.wait_for("a live snapshot", |engine| {
        std::fs::read_dir(&engine.dir)
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.path().extension().is_some_and(|x| x == "cxs"))
    });
    engine.stop();

    let recorded = recovery::read_config(&engine.dir).unwrap();
    assert!(!recorded.contains("secret"), "{recorded}");
    let mut files = 0;
    for entry in std::fs::read_dir(&engine.dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(13).any(|w| w == b"demo-secret-1"),
            "{} holds a secret in clear",
            path.display()
        );
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o007, 0, "{} is mode {mode:o}", path.display());
        files += 1;
    }
    assert!(
        files >= 4,
        "segments, a snapshot, the counters and the lock"
    );
    let mode = std::fs::metadata(&engine.dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o007, 0, "the journal directory is mode {mode:o}");
}
