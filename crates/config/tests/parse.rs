//! The TOML configuration: the embedded default parses into the values it states;
//! mistakes are refused with the table and key named.

use crossline_config::{parse, ConfigError, DEFAULT};
use crossline_matcher::{Mode, UnusableNbbo};
use crossline_types::{ClientId, Price, Quantity, SymbolId};

fn dollars(text: &str) -> Price {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let fraction = format!("{fraction:0<6}");
    Price::from_micros(whole.parse::<i64>().unwrap() * 1_000_000 + fraction.parse::<i64>().unwrap())
}

#[test]
fn the_default_configuration_states_what_it_means() {
    let config = parse(DEFAULT).unwrap();
    assert_eq!(config.risk.clients.len(), 4);
    let small = config
        .risk
        .clients
        .iter()
        .find(|client| client.client == ClientId::new(3))
        .unwrap();
    // Its own credit limit; everything else from [client_defaults].
    assert_eq!(small.credit_limit, dollars("250000"));
    assert_eq!(small.order_quantity_max, Quantity::new(50_000));
    assert_eq!(config.risk.collar.last().unwrap().below, Price::MAX);
    assert_eq!(config.risk.collar[0].below, dollars("1.00"));
    assert_eq!(config.matcher.nbbo_stale_after_ns, 1_000_000_000);
    assert_eq!(config.matcher.unusable_nbbo, UnusableNbbo::Route);
    assert_eq!(config.matcher.improvement_increment, Price::HUNDREDTH_CENT);
    let sub_dollar = config
        .matcher
        .symbols
        .iter()
        .find(|symbol| symbol.symbol == SymbolId::new(4))
        .unwrap();
    assert_eq!(sub_dollar.book.tick, Price::HUNDREDTH_CENT);
    assert_eq!(sub_dollar.reference_price, dollars("0.85"));
    let msft = &config.matcher.symbols[1];
    assert_eq!(msft.settings.mode, Mode::Active);
    assert!(!msft.settings.hedge);
    assert!(config.matcher.symbols[2].settings.hedge);
    assert_eq!(config.matcher.symbols[0].settings.soft_limit, 5_000);
    assert_eq!(
        config.symbol_names[0],
        (SymbolId::new(1), "AAPL".to_owned())
    );
}

fn with(replace: &str, by: &str) -> Result<crossline_config::Config, ConfigError> {
    assert!(
        DEFAULT.contains(replace),
        "test edits a line that exists: {replace}"
    );
    parse(&DEFAULT.replacen(replace, by, 1))
}

#[test]
fn an_unknown_key_is_refused_not_ignored() {
    let error = with("long_max = 20000", "long_maxx = 20000").unwrap_err();
    let message = error.to_string();
    assert!(message.contains("long_maxx"), "{message}");
}

#[test]
fn a_missing_key_names_its_table_and_where_it_could_be_set() {
    let error = with("long_max = 20000\n", "").unwrap_err();
    assert_eq!(
        error.to_string(),
        "symbols[0] (id 1): long_max is missing (set it there or in [symbol_defaults])"
    );
}

#[test]
fn bad_values_name_the_key_and_the_value() {
    let error = with("mode = \"active\"", "mode = \"aggressive\"").unwrap_err();
    assert_eq!(
        error.to_string(),
        "symbols[1] (id 2): mode = \"aggressive\": one of \"agency_only\", \"passive\", \"active\""
    );
    let error = with("credit_limit = \"250000\"", "credit_limit = \"25O000\"").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("clients[2] (id 3): credit_limit = \"25O000\""),
        "{error}"
    );
    let error = with("tick = \"0.0001\"", "tick = \"0.0000001\"").unwrap_err();
    assert!(error.to_string().contains("six decimal places"), "{error}");
}

#[test]
fn numbers_are_read_as_written() {
    let config = with("reference_price = \"11.20\"", "reference_price = 11.2").unwrap();
    assert_eq!(config.matcher.symbols[2].reference_price, dollars("11.20"));
    let config = with("credit_limit = \"250000\"", "credit_limit = 250000").unwrap();
    assert_eq!(config.risk.clients[2].credit_limit, dollars("250000"));
}

#[test]
fn the_engine_refuses_what_it_cannot_run() {
    // Parsed fine, but the gate refuses a collar that does not cover every price.
    let error = with("below = \"max\"", "below = \"100.00\"").unwrap_err();
    assert!(matches!(error, ConfigError::Risk(_)), "{error}");
    // And a symbol configured twice.
    let error = with("id = 4\nname = \"SNDL\"", "id = 3\nname = \"SNDL\"").unwrap_err();
    assert_eq!(
        error.to_string(),
        "risk limits: symbol 3 is configured twice"
    );
}

#[test]
fn the_journal_table_is_checked_and_named() {
    let config = parse(DEFAULT).unwrap();
    assert_eq!(config.journal.segment_bytes, 64 << 20);
    assert_eq!(
        config.journal.durability,
        crossline_config::Durability::Process
    );
    let config = with("durability = \"process\"", "durability = \"sync_interval\"").unwrap();
    assert_eq!(
        config.journal.durability,
        crossline_config::Durability::SyncInterval(10)
    );
    let error = with("durability = \"process\"", "durability = \"fsync\"").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("[journal]: durability = \"fsync\""),
        "{error}"
    );
    let error = with("segment_mib = 64", "segment_mib = 0").unwrap_err();
    assert!(
        error.to_string().starts_with("[journal]: segment_mib = 0"),
        "{error}"
    );
}

#[test]
fn the_router_venues_and_simulator_tables_are_checked_and_named() {
    let config = parse(DEFAULT).unwrap();
    assert_eq!(config.router.venues.len(), 3);
    assert_eq!(config.router.venues[2].fee_per_share, dollars("0.0020"));
    assert_eq!(
        config.router.on_venue_loss,
        crossline_router::VenueLoss::Reroute
    );
    // The per-venue simulator override applies to venue 3 only.
    assert_eq!(config.simulator.venues[&3].fill_ppm, 600_000);
    assert_eq!(config.simulator.venues[&1].fill_ppm, 900_000);

    let error = with("on_venue_loss = \"reroute\"", "on_venue_loss = \"retry\"").unwrap_err();
    assert_eq!(
        error.to_string(),
        "[router]: on_venue_loss = \"retry\": \"reroute\" or \"cancel\""
    );
    let error = with("ack_timeout_ms = 500", "ack_timeout_ms = 0").unwrap_err();
    assert_eq!(
        error.to_string(),
        "[router]: ack_timeout_ms = 0: between 1 and 3600000 milliseconds"
    );
    let error = with(
        "address = \"127.0.0.1:9302\"",
        "address = \"127.0.0.1:9301\"",
    )
    .unwrap_err();
    assert!(
        error.to_string().starts_with("[[venues]]: address"),
        "{error}"
    );
    let error = with("address = \"127.0.0.1:9302\"", "address = \"nowhere\"").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("venues[1] (id 2): address = \"nowhere\""),
        "{error}"
    );
    let error = with("fee_per_share = \"0.0029\"\n", "").unwrap_err();
    assert_eq!(error.to_string(), "venues[1]: fee_per_share is missing");
    let error = with("fill_probability = 0.9 ", "fill_probability = 1.5 ").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("[simulator]: fill_probability = 1.5"),
        "{error}"
    );
    let error = with("id = 3\nlatency_us = 500", "id = 9\nlatency_us = 500").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the id of a venue in [[venues]]"),
        "{error}"
    );
    // No venues at all is a valid choice: routes are cancelled back.
    let bare = DEFAULT.split("[[venues]]").next().unwrap().to_owned()
        + DEFAULT
            .split_once("[symbol_defaults]")
            .map(|(_, rest)| rest)
            .unwrap();
    let bare = bare.replace("tick = \"0.01\"", "[symbol_defaults]\ntick = \"0.01\"");
    let config = parse(&bare).unwrap();
    assert!(config.router.venues.is_empty());
}

#[test]
fn a_replay_file_is_the_feed_source_when_set() {
    let config = with(
        "listen = \"127.0.0.1:9200\"",
        "listen = \"127.0.0.1:9200\"\nreplay_file = \"day.cxmd\"\nreplay_pace = \"fast\"",
    )
    .unwrap();
    assert_eq!(
        config.network.market_data.replay,
        Some(("day.cxmd".into(), crossline_config::ReplayPace::Fast))
    );
    let error = with(
        "listen = \"127.0.0.1:9200\"",
        "listen = \"127.0.0.1:9200\"\nreplay_pace = \"slow\"",
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("[market_data]: replay_pace = \"slow\""),
        "{error}"
    );
}

#[test]
fn connection_slots_cover_every_client_and_the_logon_budget() {
    let config = parse(DEFAULT).unwrap();
    assert_eq!(config.network.gateway.pending_logons_max, 16);
    let clients = config.secrets.len();
    let (operators, admin_pending) = (config.admin.operators.len(), 4);
    assert_eq!(config.admin.pending_logons_max, admin_pending);
    // Exactly enough: every client with a secret plus the connections waiting to log on,
    // and the same for the admin port, which shares the transport.
    let needed = clients + 16 + operators + admin_pending;
    let exact = format!("connections_max = {needed}");
    with("connections_max = 64", &exact).unwrap();
    let short = format!("connections_max = {}", needed - 1);
    let error = with("connections_max = 64", &short).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "[net]: connections_max = {}: must be at least {needed}, the {clients} clients \
             with a secret plus [gateway] pending_logons_max = 16, plus the {operators} \
             operators plus [admin] pending_logons_max = {admin_pending}, plus the 0 \
             [[fix_sessions]] plus [fix] pending_logons_max = 0 (every client, operator and \
             FIX session must find a slot however many connections wait to log on)",
            needed - 1,
        )
    );
    let error = with("pending_logons_max = 16", "pending_logons_max = 0").unwrap_err();
    assert_eq!(
        error.to_string(),
        "[gateway]: pending_logons_max = 0: at least 1 (a client must be able to connect to log \
         on)"
    );
    let error = with("pending_logons_max = 16", "pending_logons_max = -1").unwrap_err();
    assert!(error.to_string().contains("pending_logons_max"), "{error}");
}

#[test]
fn the_venue_transport_has_a_slot_for_every_venue() {
    let config = parse(DEFAULT).unwrap();
    assert_eq!(config.router.venues.len(), 3);
    // No client with a secret, no operator and one pending logon on each port: two
    // slots are enough for clients and operators, not for three venues.
    let mut in_operator = false;
    let text = DEFAULT
        .lines()
        .filter(|line| {
            if line.starts_with("[[operators]]") {
                in_operator = true;
            } else if line.is_empty() {
                in_operator = false;
            }
            !in_operator && !line.starts_with("secret = ")
        })
        .collect::<Vec<_>>()
        .join("\n")
        .replacen("connections_max = 64", "connections_max = 2", 1)
        .replacen("pending_logons_max = 16", "pending_logons_max = 1", 1)
        .replacen("pending_logons_max = 4 ", "pending_logons_max = 1 ", 1);
    let error = parse(&text).unwrap_err().to_string();
    assert!(
        error.starts_with("[net]: connections_max = 2: at least one slot per [[venues]] entry"),
        "{error}"
    );
    parse(&text.replacen("connections_max = 2", "connections_max = 3", 1)).unwrap();
}

#[test]
fn a_simulator_schedule_is_read_and_each_bad_entry_named() {
    let schedule = |entry: &str| {
        parse(&format!(
            "{DEFAULT}\n[[simulator.schedule]]\nsymbol = 1\nat_ms = 5000\n{entry}\n"
        ))
    };
    let config =
        schedule("status = \"band\"\nfor_ms = 3000\nlower = \"180.50\"\nupper = \"199.50\"")
            .unwrap();
    assert_eq!(
        config.simulator.schedule,
        [crossline_config::ScheduledStatus {
            symbol: SymbolId::new(1),
            at_ms: 5000,
            for_ms: 3000,
            status: crossline_config::ScheduledKind::Band {
                lower: dollars("180.50"),
                upper: dollars("199.50"),
            },
        }]
    );
    let halt = schedule("status = \"halt\"").unwrap();
    assert_eq!(halt.simulator.schedule[0].for_ms, 0, "for_ms defaults to 0");
    for (entry, expected) in [
        (
            "status = \"pause\"",
            "simulator.schedule[0]: status = \"pause\": \"halt\", \"band\" or \"rule201\"",
        ),
        (
            "status = \"halt\"\nlower = \"1\"",
            "simulator.schedule[0]: lower = set: no band bound",
        ),
        (
            "status = \"band\"\nlower = \"10\"",
            "simulator.schedule[0]: upper = missing",
        ),
        (
            "status = \"band\"\nlower = \"10\"\nupper = \"9\"",
            "simulator.schedule[0]: upper = 10-9: a band with 0 < lower <= upper",
        ),
        (
            "status = \"halt\"\nfor_ms = 90000000",
            "simulator.schedule[0]: for_ms = 90000000: at most 86400000 (a day)",
        ),
    ] {
        let error = schedule(entry).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{entry}: {error}");
    }
    let unknown = parse(&format!(
        "{DEFAULT}\n[[simulator.schedule]]\nsymbol = 99\nat_ms = 1\nstatus = \"halt\"\n"
    ))
    .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "simulator.schedule[0]: symbol = 99: a configured symbol's id"
    );
}

#[test]
fn the_feed_socket_buffer_is_read_and_checked() {
    let config = parse(DEFAULT).unwrap();
    assert_eq!(config.network.market_data.socket_buffer_bytes, 4096 << 10);
    let error = with("socket_buffer_kib = 4096 ", "socket_buffer_kib = 8 ").unwrap_err();
    assert_eq!(
        error.to_string(),
        "[market_data]: socket_buffer_kib = 8: between 64 and 1048576 (KiB)"
    );
}

#[test]
fn fix_sessions_are_checked_and_named() {
    let fix = |sessions: &str| parse(&format!("{DEFAULT}\n[[clients]]\nid = 5\n{sessions}"));
    let config = fix("[[fix_sessions]]\ncomp_id = \"C5\"\nclient = 5\nsecret = \"s\"\n\
                      [[fix_sessions]]\ncomp_id = \"MO\"\nrole = \"drop_copy\"\nversion = \"FIX.4.2\"\n")
        .unwrap();
    assert_eq!(config.fix.sessions.len(), 2);
    assert_eq!(config.fix.comp_id, "CROSSLINE");
    assert_eq!(
        config.fix.sessions[0].role,
        crossline_config::FixRole::Orders(ClientId::new(5))
    );
    assert_eq!(
        config.fix.sessions[1].version,
        crossline_config::FixVersion::Fix42
    );
    let cases = [
        (
            "[[fix_sessions]]\ncomp_id = \"C1\"\nclient = 1\n",
            "fix_sessions[0] (C1): client = 1: a client without a binary-protocol secret",
        ),
        (
            "[[fix_sessions]]\ncomp_id = \"C9\"\nclient = 9\n",
            "fix_sessions[0] (C9): client = 9: the id of a configured [[clients]] entry",
        ),
        (
            "[[fix_sessions]]\ncomp_id = \"C5\"\n",
            "fix_sessions[0] (C5): client is missing (the client an orders session acts for)",
        ),
        (
            "[[fix_sessions]]\ncomp_id = \"C5\"\nclient = 5\nversion = \"FIX.5.0\"\n",
            "fix_sessions[0] (C5): version = \"FIX.5.0\": \"FIX.4.2\" or \"FIX.4.4\"",
        ),
        (
            "[[fix_sessions]]\ncomp_id = \"MO\"\nrole = \"drop_copy\"\nclient = 5\n",
            "fix_sessions[0] (MO): client = 5: no client",
        ),
        (
            "[[fix_sessions]]\ncomp_id = \"A B\"\nclient = 5\n",
            "fix_sessions[0] (A B): comp_id = \"A B\": 1 to 32 printable ASCII",
        ),
        (
            "[[fix_sessions]]\ncomp_id = \"C5\"\nclient = 5\n[[fix_sessions]]\ncomp_id = \"C5\"\nrole = \"drop_copy\"\n",
            "fix_sessions[1] (C5): comp_id = \"C5\": a CompID no other",
        ),
    ];
    for (sessions, expected) in cases {
        let error = fix(sessions).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{error}\nexpected: {expected}");
    }
}

#[test]
fn fix_venues_are_checked_and_named() {
    let venue = |keys: &str| {
        parse(&format!(
            "{DEFAULT}\n[[venues]]\nid = 9\naddress = \"127.0.0.1:9309\"\nfee_per_share = \"0.001\"\n{keys}"
        ))
    };
    let config =
        venue("protocol = \"fix44\"\ntarget_comp_id = \"XFIX\"\nsecret = \"pw\"\n").unwrap();
    let fix = config.router.venues[3].fix.as_ref().expect("a FIX venue");
    assert_eq!(
        (fix.sender_comp_id.as_str(), fix.target_comp_id.as_str()),
        ("CROSSLINE", "XFIX")
    );
    assert_eq!(fix.password.as_deref(), Some("pw"));
    assert!(config.router.venues[0].fix.is_none());
    assert_eq!(config.router.tickers.len(), config.symbol_names.len());
    let cases = [
        (
            "protocol = \"fix44\"\n",
            "venues[3] (id 9): target_comp_id is missing (a FIX venue's CompIDs)",
        ),
        (
            "protocol = \"fix42\"\n",
            "venues[3] (id 9): protocol = \"fix42\": \"binary\"",
        ),
        (
            "target_comp_id = \"X\"\n",
            "venues[3] (id 9): target_comp_id = (set): no value",
        ),
        (
            "protocol = \"fix44\"\ntarget_comp_id = \"A=B\"\n",
            "venues[3] (id 9): target_comp_id = \"A=B\": 1 to 32",
        ),
    ];
    for (keys, expected) in cases {
        let error = venue(keys).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{error}\nexpected: {expected}");
    }
    // The journal's copy keeps no venue secret.
    let text = format!("{DEFAULT}\n[[venues]]\nid = 9\naddress = \"127.0.0.1:9309\"\nfee_per_share = \"0.001\"\nprotocol = \"fix44\"\ntarget_comp_id = \"XFIX\"\nsecret = \"venue-password\"\n");
    assert!(!crossline_config::without_secrets(&text)
        .unwrap()
        .contains("venue-password"));
}
