//! Admin messages: a run-time change of a limit reports who changed what from which value
//! to which; a temporary change reverts by itself at its expiry, unless a later change
//! replaced it; bad changes are refused and change nothing.

use crossline_risk::{
    AdminCause, AdminChange, AdminRecord, ClientLimits, CollarTier, ControlError, KillTarget,
    RiskConfig, RiskGate, RiskReject, Setting, SymbolRisk,
};
use crossline_types::{
    Capacity, ClientId, ClientOrderId, NewOrder, OrderType, Price, Quantity, Quote, Side, SymbolId,
    TimeInForce, Timestamp,
};

const CLIENT: ClientId = ClientId::new(1);
const SYMBOL: SymbolId = SymbolId::new(1);
const DOLLAR: i64 = 1_000_000;
const OPERATOR: u32 = 42;

fn gate() -> RiskGate {
    let config = RiskConfig {
        clients: vec![ClientLimits {
            client: CLIENT,
            credit_limit: Price::from_micros(10_000 * DOLLAR),
            order_quantity_max: Quantity::new(1_000),
            order_notional_max: Price::from_micros(10_000 * DOLLAR),
            messages_per_second: 1_000,
            message_burst: 100,
            market_order_adv_ppm: 10_000,
            client_order_ids_max: 1_000,
        }],
        symbols: vec![SymbolRisk {
            symbol: SYMBOL,
            average_daily_volume: 1_000_000,
            restricted: false,
        }],
        collar: vec![CollarTier {
            below: Price::MAX,
            ppm: 100_000,
            minimum: Price::CENT,
        }],
        orders_max: 16,
        locates_max: 4,
    };
    let mut gate = RiskGate::new(&config).unwrap();
    gate.on_nbbo(&Quote {
        symbol: SYMBOL,
        bid: Price::from_micros(10 * DOLLAR),
        bid_size: Quantity::new(100),
        ask: Price::from_micros(10 * DOLLAR + 10_000),
        ask_size: Quantity::new(100),
    });
    gate
}

fn buy(coid: u64, shares: u32) -> NewOrder {
    NewOrder {
        client: CLIENT,
        symbol: SYMBOL,
        client_order_id: ClientOrderId::new(coid),
        price: Price::from_micros(10 * DOLLAR),
        quantity: Quantity::new(shares),
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Day,
        capacity: Capacity::Agency,
    }
}

fn at(seconds: u64) -> Timestamp {
    Timestamp::new(seconds * 1_000_000_000)
}

fn change(setting: Setting, expires_at: Option<Timestamp>) -> AdminChange {
    AdminChange {
        operator: OPERATOR,
        request: 0,
        setting,
        expires_at,
    }
}

#[test]
fn a_change_reports_who_what_old_and_new_and_takes_effect() {
    let mut gate = gate();
    let record = gate
        .apply_admin(
            at(1),
            &change(Setting::OrderQuantityMax(CLIENT, Quantity::new(100)), None),
        )
        .unwrap();
    assert_eq!(
        record,
        AdminRecord {
            operator: OPERATOR,
            old: Setting::OrderQuantityMax(CLIENT, Quantity::new(1_000)),
            new: Setting::OrderQuantityMax(CLIENT, Quantity::new(100)),
            expires_at: None,
            cause: AdminCause::Message,
        }
    );
    assert_eq!(gate.check_new_order(at(2), &buy(1, 100)), Ok(()));
    assert!(matches!(
        gate.check_new_order(at(3), &buy(2, 101)),
        Err(RiskReject::QuantityAboveMax { .. })
    ));
}

#[test]
fn a_temporary_change_reverts_at_its_expiry() {
    let mut gate = gate();
    // Halt for 60 seconds.
    gate.apply_admin(at(10), &change(Setting::Halted(SYMBOL, true), Some(at(70))))
        .unwrap();
    let mut records = Vec::new();
    gate.expire(at(69), |record| records.push(record));
    assert!(records.is_empty());
    assert_eq!(
        gate.check_new_order(at(69), &buy(1, 10)),
        Err(RiskReject::Halted)
    );
    // The first input at or after the expiry sees the halt lifted.
    gate.expire(at(70), |record| records.push(record));
    assert_eq!(
        records,
        vec![AdminRecord {
            operator: OPERATOR,
            old: Setting::Halted(SYMBOL, true),
            new: Setting::Halted(SYMBOL, false),
            expires_at: None,
            cause: AdminCause::Expired,
        }]
    );
    assert_eq!(gate.check_new_order(at(70), &buy(2, 10)), Ok(()));
}

#[test]
fn a_later_change_supersedes_a_temporary_one() {
    let mut gate = gate();
    let raised = Price::from_micros(20_000 * DOLLAR);
    let standing = Price::from_micros(15_000 * DOLLAR);
    gate.apply_admin(
        at(1),
        &change(Setting::CreditLimit(CLIENT, raised), Some(at(100))),
    )
    .unwrap();
    gate.apply_admin(at(2), &change(Setting::CreditLimit(CLIENT, standing), None))
        .unwrap();
    let mut records = Vec::new();
    gate.expire(at(100), |record| records.push(record));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].cause, AdminCause::Superseded);
    assert_eq!(records[0].new, Setting::CreditLimit(CLIENT, standing));
    // $15,000 stands: 1,500 shares at $10 fit, one more share does not.
    assert_eq!(gate.check_new_order(at(101), &buy(1, 1_000)), Ok(()));
    assert_eq!(gate.check_new_order(at(102), &buy(2, 500)), Ok(()));
    assert!(matches!(
        gate.check_new_order(at(103), &buy(3, 1)),
        Err(RiskReject::CreditLimit { .. })
    ));
}

#[test]
fn expiries_revert_in_time_order_then_arrival_order() {
    let mut gate = gate();
    gate.apply_admin(at(1), &change(Setting::Rule201(SYMBOL, true), Some(at(50))))
        .unwrap();
    gate.apply_admin(
        at(2),
        &change(Setting::Restricted(SYMBOL, true), Some(at(30))),
    )
    .unwrap();
    gate.apply_admin(at(3), &change(Setting::Halted(SYMBOL, true), Some(at(30))))
        .unwrap();
    let mut records = Vec::new();
    gate.expire(at(60), |record| records.push(record.new));
    assert_eq!(
        records,
        vec![
            Setting::Restricted(SYMBOL, false),
            Setting::Halted(SYMBOL, false),
            Setting::Rule201(SYMBOL, false),
        ]
    );
}

#[test]
fn an_admin_kill_switch_refuses_orders_and_lifts_at_expiry() {
    let mut gate = gate();
    gate.check_new_order(at(1), &buy(1, 10)).unwrap();
    let record = gate
        .apply_admin(
            at(2),
            &change(
                Setting::KillSwitch(KillTarget::Client(CLIENT), true),
                Some(at(10)),
            ),
        )
        .unwrap();
    assert_eq!(
        record.old,
        Setting::KillSwitch(KillTarget::Client(CLIENT), false)
    );
    assert!(matches!(
        gate.check_new_order(at(3), &buy(2, 10)),
        Err(RiskReject::KillSwitch { .. })
    ));
    gate.expire(at(10), |_| {});
    assert_eq!(gate.check_new_order(at(10), &buy(3, 10)), Ok(()));
}

#[test]
fn bad_changes_are_refused_and_change_nothing() {
    let mut gate = gate();
    let stranger = ClientId::new(9);
    assert_eq!(
        gate.apply_admin(
            at(1),
            &change(Setting::CreditLimit(stranger, Price::ZERO), None)
        ),
        Err(ControlError::UnknownClient(stranger))
    );
    assert_eq!(
        gate.apply_admin(
            at(1),
            &change(Setting::CreditLimit(CLIENT, Price::from_micros(-1)), None)
        ),
        Err(ControlError::Negative {
            field: "credit_limit",
            value: Price::from_micros(-1)
        })
    );
    assert_eq!(
        gate.apply_admin(at(5), &change(Setting::Halted(SYMBOL, true), Some(at(5)))),
        Err(ControlError::ExpiryPassed {
            expires_at: at(5),
            now: at(5)
        })
    );
    let low = Price::from_micros(11 * DOLLAR);
    let high = Price::from_micros(9 * DOLLAR);
    assert_eq!(
        gate.apply_admin(
            at(6),
            &change(Setting::Band(SYMBOL, Some((low, high))), None)
        ),
        Err(ControlError::EmptyBand(low, high))
    );
    // Nothing changed: a 1,000-share, $10,000 order still passes.
    assert_eq!(gate.check_new_order(at(7), &buy(1, 1_000)), Ok(()));
}

#[test]
fn temporary_changes_are_bounded() {
    let mut gate = gate();
    let halt = |seconds| change(Setting::Halted(SYMBOL, true), Some(at(seconds)));
    for index in 0..crossline_risk::PENDING_CHANGES_MAX as u64 {
        assert!(
            gate.apply_admin(at(1), &halt(100 + index)).is_ok(),
            "change {index}"
        );
    }
    assert_eq!(
        gate.apply_admin(at(1), &halt(5_000)),
        Err(ControlError::TooManyTemporary)
    );
    // A standing change is not counted; once one expires there is room again.
    assert!(gate
        .apply_admin(at(1), &change(Setting::Halted(SYMBOL, true), None))
        .is_ok());
    gate.expire(at(100), |_| {});
    assert!(gate.apply_admin(at(100), &halt(6_000)).is_ok());
}

#[test]
fn a_price_improvement_multiplier_reports_its_old_value_and_reverts_at_expiry() {
    let mut gate = gate();
    let set = |ppm, expires_at| change(Setting::ImprovementMultiplier(CLIENT, ppm), expires_at);
    assert_eq!(
        gate.client_state(CLIENT).unwrap().improvement_ppm,
        1_000_000
    );
    let record = gate
        .apply_admin(at(1), &set(500_000, Some(at(10))))
        .unwrap();
    assert_eq!(
        (record.old, record.new),
        (
            Setting::ImprovementMultiplier(CLIENT, 1_000_000),
            Setting::ImprovementMultiplier(CLIENT, 500_000)
        )
    );
    assert_eq!(gate.client_state(CLIENT).unwrap().improvement_ppm, 500_000);
    let mut expired = Vec::new();
    gate.expire(at(10), |record| expired.push(record));
    assert_eq!(
        expired,
        [AdminRecord {
            operator: OPERATOR,
            old: Setting::ImprovementMultiplier(CLIENT, 500_000),
            new: Setting::ImprovementMultiplier(CLIENT, 1_000_000),
            expires_at: None,
            cause: AdminCause::Expired,
        }]
    );
    assert_eq!(
        gate.client_state(CLIENT).unwrap().improvement_ppm,
        1_000_000
    );
    let stranger = ClientId::new(9);
    assert_eq!(
        gate.apply_admin(
            at(11),
            &change(Setting::ImprovementMultiplier(stranger, 0), None)
        ),
        Err(ControlError::UnknownClient(stranger))
    );
}
