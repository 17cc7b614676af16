//! Commands as bytes: each [`Command`] is one fixed 56-byte [`Message`]
//! (`crossline_types::layout`), the form it takes in the journal. Decoding takes any 56
//! bytes and answers with the command or a [`MessageError`] naming the field and value.

use crossline_matcher::{Mode, SettingsChange, SymbolSettings, VenueCancel, VenueFill};
use crossline_risk::{AdminChange, KillTarget, Setting};
use crossline_types::layout::{
    AdminLayout, CancelLayout, EndOfDayLayout, Layout, LocateLayout, NbboLayout, NewOrderLayout,
    ReplaceLayout, SettingsLayout, SnapshotLayout, VenueCancelLayout, VenueFillLayout,
};
use crossline_types::{
    Cancel, Capacity, ClientId, ClientOrderId, Message, NewOrder, OrderId, OrderType, Price,
    Quantity, Quote, Replace, SequenceNumber, Side, SymbolId, TimeInForce, Timestamp, ValueError,
};
use zerocopy::little_endian::{I64, U32, U64};
use zerocopy::FromZeros;

use crate::Command;

/// Bytes that are not a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The kind code names no command.
    #[error("message kind {0} is not a command")]
    Kind(u8),
    /// A field holds a value its kind does not allow.
    #[error("{kind} message: {field} {value} is not valid")]
    Field {
        /// The message kind.
        kind: &'static str,
        /// The field.
        field: &'static str,
        /// The value read.
        value: i128,
    },
}

/// The admin setting codes of [`AdminLayout::setting`] (`docs/MESSAGES.md`, "Admin
/// settings"), in code order from 1.
pub const SETTING_CODES: [&str; 13] = [
    "credit_limit",
    "order_quantity_max",
    "order_notional_max",
    "messages_per_second",
    "market_order_adv_ppm",
    "restricted",
    "halted",
    "band",
    "rule201",
    "average_daily_volume",
    "kill_firm",
    "kill_symbol",
    "kill_client",
];

const FLAG_ON: u8 = 1;
const FLAG_EXPIRES: u8 = 2;
const FLAG_BAND: u8 = 4;
const SETTINGS_ROUTE: u8 = 1;
const SETTINGS_HEDGE: u8 = 2;

fn field(kind: &'static str, field: &'static str, value: impl Into<i128>) -> MessageError {
    MessageError::Field {
        kind,
        field,
        value: value.into(),
    }
}

fn code<T: TryFrom<u8, Error = ValueError>>(
    kind: &'static str,
    name: &'static str,
    value: u8,
) -> Result<T, MessageError> {
    T::try_from(value).map_err(|_| field(kind, name, value))
}

fn u32_value(kind: &'static str, name: &'static str, value: i64) -> Result<u32, MessageError> {
    u32::try_from(value).map_err(|_| field(kind, name, value))
}

macro_rules! head {
    ($layout:ty, $sequence:expr, $time:expr) => {{
        let mut view = <$layout>::new_zeroed();
        view.sequence = U64::new($sequence.get());
        view.time = U64::new($time.nanos());
        view.kind = <$layout as Layout>::KIND;
        view
    }};
}

impl Command {
    /// The command as the 56-byte message that crosses the rings and enters the
    /// journal, with `sequence` (zero before the sequencer) and `time`.
    #[must_use]
    pub fn to_message(&self, sequence: SequenceNumber, time: Timestamp) -> Message {
        match *self {
            Command::NewOrder(order) => {
                let mut view = head!(NewOrderLayout, sequence, time);
                view.side = order.side.code();
                view.order_type = order.order_type.code();
                view.time_in_force = order.time_in_force.code();
                view.client = U32::new(order.client.get());
                view.client_order_id = U64::new(order.client_order_id.get());
                view.price = I64::new(order.price.micros());
                view.quantity = U32::new(order.quantity.shares());
                view.symbol = U32::new(order.symbol.get());
                view.capacity = order.capacity.code();
                Message::from_view(&view)
            }
            Command::Cancel(cancel) => {
                let mut view = head!(CancelLayout, sequence, time);
                view.client = U32::new(cancel.client.get());
                view.client_order_id = U64::new(cancel.client_order_id.get());
                view.original_client_order_id = U64::new(cancel.original_client_order_id.get());
                view.symbol = U32::new(cancel.symbol.get());
                Message::from_view(&view)
            }
            Command::Replace(replace) => {
                let mut view = head!(ReplaceLayout, sequence, time);
                view.client = U32::new(replace.client.get());
                view.client_order_id = U64::new(replace.client_order_id.get());
                view.original_client_order_id = U64::new(replace.original_client_order_id.get());
                view.price = I64::new(replace.price.micros());
                view.quantity = U32::new(replace.quantity.shares());
                Message::from_view(&view)
            }
            Command::Nbbo(quote) => {
                let mut view = head!(NbboLayout, sequence, time);
                view.symbol = U32::new(quote.symbol.get());
                view.bid = I64::new(quote.bid.micros());
                view.ask = I64::new(quote.ask.micros());
                view.bid_size = U32::new(quote.bid_size.shares());
                view.ask_size = U32::new(quote.ask_size.shares());
                Message::from_view(&view)
            }
            Command::VenueFill(fill) => {
                let mut view = head!(VenueFillLayout, sequence, time);
                view.quantity = U32::new(fill.quantity.shares());
                view.order_id = U64::new(fill.order_id.get());
                view.price = I64::new(fill.price.micros());
                Message::from_view(&view)
            }
            Command::VenueCancel(cancel) => {
                let mut view = head!(VenueCancelLayout, sequence, time);
                view.quantity = U32::new(cancel.quantity.shares());
                view.order_id = U64::new(cancel.order_id.get());
                Message::from_view(&view)
            }
            Command::Locate {
                client,
                symbol,
                shares,
            } => {
                let mut view = head!(LocateLayout, sequence, time);
                view.client = U32::new(client.get());
                view.shares = U64::new(shares);
                view.symbol = U32::new(symbol.get());
                Message::from_view(&view)
            }
            Command::Admin(change) => {
                let mut view = head!(AdminLayout, sequence, time);
                encode_admin(&change, &mut view);
                Message::from_view(&view)
            }
            Command::Settings(change) => {
                let mut view = head!(SettingsLayout, sequence, time);
                let settings = change.settings;
                view.mode = match settings.mode {
                    Mode::AgencyOnly => 0,
                    Mode::Passive => 1,
                    Mode::Active => 2,
                };
                view.flags = (u8::from(settings.route_residual) * SETTINGS_ROUTE)
                    | (u8::from(settings.hedge) * SETTINGS_HEDGE);
                view.symbol = U32::new(change.symbol.get());
                view.improvement_min = I64::new(settings.improvement_min.micros());
                view.improvement_spread_ppm = U32::new(settings.improvement_spread_ppm);
                view.skew_ppm = U32::new(settings.skew_ppm);
                view.long_max = U32::new(settings.long_max);
                view.short_max = U32::new(settings.short_max);
                view.principal_size_max = U32::new(settings.principal_size_max);
                view.soft_limit = U32::new(settings.soft_limit);
                Message::from_view(&view)
            }
            Command::EndOfDay => Message::from_view(&head!(EndOfDayLayout, sequence, time)),
            Command::Snapshot => Message::from_view(&head!(SnapshotLayout, sequence, time)),
        }
    }

    /// The command a message holds (its sequence number and time are the message's
    /// own, [`Message::sequence`] and [`Message::time`]).
    ///
    /// # Errors
    /// [`MessageError`] for a kind that is no command, or a field its kind does not
    /// allow (an undefined code, a value out of its type's range, a flag bit not
    /// defined).
    pub fn from_message(message: &Message) -> Result<Command, MessageError> {
        if let Some(view) = message.view::<NewOrderLayout>() {
            let kind = NewOrderLayout::NAME;
            let side: Side = code(kind, "side", view.side)?;
            let order_type: OrderType = code(kind, "order_type", view.order_type)?;
            let time_in_force: TimeInForce = code(kind, "time_in_force", view.time_in_force)?;
            let capacity: Capacity = code(kind, "capacity", view.capacity)?;
            return Ok(Command::NewOrder(NewOrder {
                client: ClientId::new(view.client.get()),
                symbol: SymbolId::new(view.symbol.get()),
                client_order_id: ClientOrderId::new(view.client_order_id.get()),
                price: Price::from_micros(view.price.get()),
                quantity: Quantity::new(view.quantity.get()),
                side,
                order_type,
                time_in_force,
                capacity,
            }));
        }
        if let Some(view) = message.view::<CancelLayout>() {
            return Ok(Command::Cancel(Cancel {
                client: ClientId::new(view.client.get()),
                symbol: SymbolId::new(view.symbol.get()),
                client_order_id: ClientOrderId::new(view.client_order_id.get()),
                original_client_order_id: ClientOrderId::new(view.original_client_order_id.get()),
            }));
        }
        if let Some(view) = message.view::<ReplaceLayout>() {
            return Ok(Command::Replace(Replace {
                client: ClientId::new(view.client.get()),
                quantity: Quantity::new(view.quantity.get()),
                client_order_id: ClientOrderId::new(view.client_order_id.get()),
                original_client_order_id: ClientOrderId::new(view.original_client_order_id.get()),
                price: Price::from_micros(view.price.get()),
            }));
        }
        if let Some(view) = message.view::<NbboLayout>() {
            return Ok(Command::Nbbo(Quote {
                symbol: SymbolId::new(view.symbol.get()),
                bid_size: Quantity::new(view.bid_size.get()),
                bid: Price::from_micros(view.bid.get()),
                ask: Price::from_micros(view.ask.get()),
                ask_size: Quantity::new(view.ask_size.get()),
            }));
        }
        if let Some(view) = message.view::<VenueFillLayout>() {
            return Ok(Command::VenueFill(VenueFill {
                order_id: OrderId::new(view.order_id.get()),
                quantity: Quantity::new(view.quantity.get()),
                price: Price::from_micros(view.price.get()),
            }));
        }
        if let Some(view) = message.view::<VenueCancelLayout>() {
            return Ok(Command::VenueCancel(VenueCancel {
                order_id: OrderId::new(view.order_id.get()),
                quantity: Quantity::new(view.quantity.get()),
            }));
        }
        if let Some(view) = message.view::<LocateLayout>() {
            return Ok(Command::Locate {
                client: ClientId::new(view.client.get()),
                symbol: SymbolId::new(view.symbol.get()),
                shares: view.shares.get(),
            });
        }
        if let Some(view) = message.view::<AdminLayout>() {
            return decode_admin(view).map(Command::Admin);
        }
        if let Some(view) = message.view::<SettingsLayout>() {
            return decode_settings(view).map(Command::Settings);
        }
        if message.view::<EndOfDayLayout>().is_some() {
            return Ok(Command::EndOfDay);
        }
        if message.view::<SnapshotLayout>().is_some() {
            return Ok(Command::Snapshot);
        }
        Err(MessageError::Kind(message.kind()))
    }
}

fn encode_admin(change: &AdminChange, view: &mut AdminLayout) {
    view.operator = U32::new(change.operator);
    if let Some(expires_at) = change.expires_at {
        view.flags |= FLAG_EXPIRES;
        view.expires_at = U64::new(expires_at.nanos());
    }
    let on = |view: &mut AdminLayout, on: bool| view.flags |= u8::from(on) * FLAG_ON;
    let (setting, target) = match change.setting {
        Setting::CreditLimit(client, limit) => {
            view.a = I64::new(limit.micros());
            (1, client.get())
        }
        Setting::OrderQuantityMax(client, quantity) => {
            view.a = I64::new(i64::from(quantity.shares()));
            (2, client.get())
        }
        Setting::OrderNotionalMax(client, notional) => {
            view.a = I64::new(notional.micros());
            (3, client.get())
        }
        Setting::MessagesPerSecond(client, rate) => {
            view.a = I64::new(i64::from(rate));
            (4, client.get())
        }
        Setting::MarketOrderAdvPpm(client, ppm) => {
            view.a = I64::new(i64::from(ppm));
            (5, client.get())
        }
        Setting::Restricted(symbol, value) => {
            on(view, value);
            (6, symbol.get())
        }
        Setting::Halted(symbol, value) => {
            on(view, value);
            (7, symbol.get())
        }
        Setting::Band(symbol, band) => {
            if let Some((low, high)) = band {
                view.flags |= FLAG_BAND;
                view.a = I64::new(low.micros());
                view.b = I64::new(high.micros());
            }
            (8, symbol.get())
        }
        Setting::Rule201(symbol, value) => {
            on(view, value);
            (9, symbol.get())
        }
        Setting::AverageDailyVolume(symbol, shares) => {
            // Stored as its two's-complement bits: the field is 8 bytes either way.
            view.a = I64::new(i64::from_le_bytes(shares.to_le_bytes()));
            (10, symbol.get())
        }
        Setting::KillSwitch(target, value) => {
            on(view, value);
            match target {
                KillTarget::Firm => (11, 0),
                KillTarget::Symbol(symbol) => (12, symbol.get()),
                KillTarget::Client(client) => (13, client.get()),
            }
        }
    };
    view.setting = setting;
    view.target = U32::new(target);
}

fn decode_admin(view: &AdminLayout) -> Result<AdminChange, MessageError> {
    let kind = AdminLayout::NAME;
    let flags = view.flags;
    if flags & !(FLAG_ON | FLAG_EXPIRES | FLAG_BAND) != 0 {
        return Err(field(kind, "flags", flags));
    }
    let a = view.a.get();
    let on = flags & FLAG_ON != 0;
    let client = ClientId::new(view.target.get());
    let symbol = SymbolId::new(view.target.get());
    let setting = match view.setting {
        1 => Setting::CreditLimit(client, Price::from_micros(a)),
        2 => Setting::OrderQuantityMax(client, Quantity::new(u32_value(kind, "a", a)?)),
        3 => Setting::OrderNotionalMax(client, Price::from_micros(a)),
        4 => Setting::MessagesPerSecond(client, u32_value(kind, "a", a)?),
        5 => Setting::MarketOrderAdvPpm(client, u32_value(kind, "a", a)?),
        6 => Setting::Restricted(symbol, on),
        7 => Setting::Halted(symbol, on),
        8 => Setting::Band(
            symbol,
            (flags & FLAG_BAND != 0)
                .then(|| (Price::from_micros(a), Price::from_micros(view.b.get()))),
        ),
        9 => Setting::Rule201(symbol, on),
        10 => Setting::AverageDailyVolume(symbol, u64::from_le_bytes(a.to_le_bytes())),
        11 => Setting::KillSwitch(KillTarget::Firm, on),
        12 => Setting::KillSwitch(KillTarget::Symbol(symbol), on),
        13 => Setting::KillSwitch(KillTarget::Client(client), on),
        other => return Err(field(kind, "setting", other)),
    };
    Ok(AdminChange {
        operator: view.operator.get(),
        setting,
        expires_at: (flags & FLAG_EXPIRES != 0).then(|| Timestamp::new(view.expires_at.get())),
    })
}

fn decode_settings(view: &SettingsLayout) -> Result<SettingsChange, MessageError> {
    let kind = SettingsLayout::NAME;
    let mode = match view.mode {
        0 => Mode::AgencyOnly,
        1 => Mode::Passive,
        2 => Mode::Active,
        other => return Err(field(kind, "mode", other)),
    };
    if view.flags & !(SETTINGS_ROUTE | SETTINGS_HEDGE) != 0 {
        return Err(field(kind, "flags", view.flags));
    }
    Ok(SettingsChange {
        symbol: SymbolId::new(view.symbol.get()),
        settings: SymbolSettings {
            mode,
            improvement_spread_ppm: view.improvement_spread_ppm.get(),
            improvement_min: Price::from_micros(view.improvement_min.get()),
            skew_ppm: view.skew_ppm.get(),
            long_max: view.long_max.get(),
            short_max: view.short_max.get(),
            principal_size_max: view.principal_size_max.get(),
            route_residual: view.flags & SETTINGS_ROUTE != 0,
            soft_limit: view.soft_limit.get(),
            hedge: view.flags & SETTINGS_HEDGE != 0,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossline_types::layout::KIND_OFFSET;

    fn round_trip(command: Command) {
        let message = command.to_message(SequenceNumber::new(42), Timestamp::new(7));
        assert_eq!((message.sequence(), message.time()), (42, 7));
        assert_eq!(Command::from_message(&message), Ok(command), "{command:?}");
    }

    #[test]
    fn every_command_and_setting_round_trips() {
        let client = ClientId::new(3);
        let symbol = SymbolId::new(9);
        let price = Price::from_micros(-12_345);
        let settings = [
            Setting::CreditLimit(client, price),
            Setting::OrderQuantityMax(client, Quantity::new(u32::MAX)),
            Setting::OrderNotionalMax(client, price),
            Setting::MessagesPerSecond(client, 17),
            Setting::MarketOrderAdvPpm(client, 1_000_000),
            Setting::Restricted(symbol, true),
            Setting::Halted(symbol, false),
            Setting::Band(symbol, Some((price, Price::from_micros(99)))),
            Setting::Band(symbol, None),
            Setting::Rule201(symbol, true),
            Setting::AverageDailyVolume(symbol, u64::MAX),
            Setting::KillSwitch(KillTarget::Firm, true),
            Setting::KillSwitch(KillTarget::Symbol(symbol), false),
            Setting::KillSwitch(KillTarget::Client(client), true),
        ];
        for (index, setting) in settings.into_iter().enumerate() {
            let expires_at = (index % 2 == 0).then(|| Timestamp::new(u64::MAX - 1));
            round_trip(Command::Admin(AdminChange {
                operator: 77,
                setting,
                expires_at,
            }));
        }
        for (mode, route_residual, hedge) in [
            (Mode::AgencyOnly, false, true),
            (Mode::Passive, true, false),
            (Mode::Active, true, true),
        ] {
            round_trip(Command::Settings(SettingsChange {
                symbol,
                settings: SymbolSettings {
                    mode,
                    improvement_spread_ppm: 1,
                    improvement_min: price,
                    skew_ppm: 2,
                    long_max: 3,
                    short_max: 4,
                    principal_size_max: 5,
                    route_residual,
                    soft_limit: 6,
                    hedge,
                },
            }));
        }
        round_trip(Command::Locate {
            client,
            symbol,
            shares: u64::MAX,
        });
        round_trip(Command::VenueFill(VenueFill {
            order_id: OrderId::new(u64::MAX),
            quantity: Quantity::new(5),
            price,
        }));
        round_trip(Command::VenueCancel(VenueCancel {
            order_id: OrderId::new(1),
            quantity: Quantity::new(5),
        }));
        round_trip(Command::EndOfDay);
        round_trip(Command::Snapshot);
    }

    #[test]
    fn bad_bytes_get_an_error_naming_the_field() {
        let order = Command::NewOrder(NewOrder {
            client: ClientId::new(1),
            symbol: SymbolId::new(2),
            client_order_id: ClientOrderId::new(3),
            price: Price::from_micros(4),
            quantity: Quantity::new(5),
            side: Side::SellShort,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Day,
            capacity: Capacity::Agency,
        });
        let message = order.to_message(SequenceNumber::new(1), Timestamp::new(1));
        let mut bytes = *message.bytes();
        bytes[17] = 0;
        assert_eq!(
            Command::from_message(&Message::from_bytes(bytes)),
            Err(MessageError::Field {
                kind: "NewOrder",
                field: "side",
                value: 0
            })
        );
        bytes[KIND_OFFSET] = 0;
        assert_eq!(
            Command::from_message(&Message::from_bytes(bytes)),
            Err(MessageError::Kind(0))
        );
        let admin = Command::Admin(AdminChange {
            operator: 1,
            setting: Setting::Halted(SymbolId::new(1), true),
            expires_at: None,
        });
        let mut bytes = *admin
            .to_message(SequenceNumber::new(1), Timestamp::new(1))
            .bytes();
        bytes[17] = 14;
        assert!(matches!(
            Command::from_message(&Message::from_bytes(bytes)),
            Err(MessageError::Field {
                field: "setting",
                ..
            })
        ));
    }

    #[test]
    fn any_bytes_decode_or_fail_without_panicking() {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for round in 0..200_000_u32 {
            let mut bytes = [0u8; 56];
            for byte in &mut bytes {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *byte = state.to_le_bytes()[0];
            }
            // Most rounds name a real kind, so the fields behind it get exercised.
            bytes[KIND_OFFSET] = u8::try_from(round % 13).unwrap_or(0);
            if let Ok(command) = Command::from_message(&Message::from_bytes(bytes)) {
                let again = command.to_message(SequenceNumber::new(1), Timestamp::new(1));
                assert_eq!(Command::from_message(&again), Ok(command));
            }
        }
    }
}
