//! Commands as bytes: each [`Command`] is one fixed 56-byte [`Message`]
//! (`crossline_types::layout`), the form it takes in the journal. Decoding takes any 56
//! bytes and answers with the command or a [`MessageError`] naming the field and value.

use crossline_matcher::{
    ClientImprovement, Input, MassCancel, Mode, SettingsChange, SymbolSettings, VenueCancel,
    VenueFill,
};
use crossline_risk::{AdminChange, KillTarget, RiskReject, Setting};
use crossline_types::layout::{
    head, AdminAckLayout, AdminLayout, CancelLayout, ClientImprovementLayout, EndOfDayLayout,
    Layout, LocateLayout, MassCancelLayout, NbboLayout, NewOrderLayout, ReplaceLayout,
    RiskRejectedLayout, SettingsLayout, SnapshotLayout, VenueCancelLayout, VenueChildLayout,
    VenueFillLayout,
};
use crossline_types::{
    Cancel, Capacity, ClientId, ClientOrderId, Message, NewOrder, OrderId, OrderType, Price,
    Quantity, Quote, Replace, SequenceNumber, Side, SymbolId, TimeInForce, Timestamp, ValueError,
    VenueChild,
};
use zerocopy::little_endian::{I64, U16, U32, U64};

use crate::{Command, Output, Sequenced};

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
pub const SETTING_CODES: [&str; 15] = [
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
    "market_halted",
    "improvement_multiplier",
];

const FLAG_ON: u8 = AdminLayout::FLAG_ON;
const FLAG_EXPIRES: u8 = AdminLayout::FLAG_EXPIRES;
const FLAG_BAND: u8 = AdminLayout::FLAG_BAND;
const SETTINGS_ROUTE: u8 = 1;
const SETTINGS_HEDGE: u8 = 2;
const MASS_CANCEL_CLIENT: u8 = 1;
const MASS_CANCEL_SYMBOL: u8 = 2;

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

impl Command {
    /// The command as the 56-byte message that crosses the rings and enters the
    /// journal, with `sequence` (zero before the sequencer) and `time`.
    #[must_use]
    pub fn to_message(&self, sequence: SequenceNumber, time: Timestamp) -> Message {
        match *self {
            Command::NewOrder(order) => order.to_message(sequence, time),
            Command::Cancel(cancel) => cancel.to_message(sequence, time),
            Command::Replace(replace) => replace.to_message(sequence, time),
            Command::Nbbo(quote) => quote.to_message(sequence, time),
            Command::VenueFill(fill) => fill.to_message(sequence, time),
            Command::VenueCancel(cancel) => cancel.to_message(sequence, time),
            Command::VenueChild(child) => child.to_message(sequence, time),
            Command::Locate {
                client,
                symbol,
                shares,
                locate_id,
                expires_s,
                operator,
                request,
            } => {
                let mut view = head::<LocateLayout>(sequence, time);
                view.client = U32::new(client.get());
                view.shares = U64::new(shares);
                view.symbol = U32::new(symbol.get());
                view.operator = U32::new(operator);
                view.request = U32::new(request);
                view.locate_id = U64::new(locate_id);
                view.expires_s = U32::new(expires_s);
                Message::from_view(&view)
            }
            Command::Admin(change) => {
                let mut view = head::<AdminLayout>(sequence, time);
                encode_admin(&change, &mut view);
                Message::from_view(&view)
            }
            Command::Settings(change) => {
                let mut view = head::<SettingsLayout>(sequence, time);
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
            Command::EndOfDay { operator, request } => {
                let mut view = head::<EndOfDayLayout>(sequence, time);
                view.operator = U32::new(operator);
                view.request = U32::new(request);
                Message::from_view(&view)
            }
            Command::Snapshot => Message::from_view(&head::<SnapshotLayout>(sequence, time)),
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
                venue: view.venue,
                fee: Price::from_micros(view.fee.get()),
            }));
        }
        if let Some(view) = message.view::<VenueChildLayout>() {
            let kind = VenueChildLayout::NAME;
            if view.flags & !VenueChildLayout::FLAG_LOST != 0 {
                return Err(field(kind, "flags", view.flags));
            }
            if view.venue == 0 {
                return Err(field(kind, "venue", view.venue));
            }
            if view.filled.get() > view.quantity.get() {
                return Err(field(kind, "filled", view.filled.get()));
            }
            return Ok(Command::VenueChild(VenueChild {
                order_id: OrderId::new(view.order_id.get()),
                venue: view.venue,
                quantity: Quantity::new(view.quantity.get()),
                filled: Quantity::new(view.filled.get()),
                lost: view.flags & VenueChildLayout::FLAG_LOST != 0,
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
                locate_id: view.locate_id.get(),
                expires_s: view.expires_s.get(),
                operator: view.operator.get(),
                request: view.request.get(),
            });
        }
        if let Some(view) = message.view::<AdminLayout>() {
            return decode_admin(view).map(Command::Admin);
        }
        if let Some(view) = message.view::<SettingsLayout>() {
            return decode_settings(view).map(Command::Settings);
        }
        if let Some(view) = message.view::<EndOfDayLayout>() {
            return Ok(Command::EndOfDay {
                operator: view.operator.get(),
                request: view.request.get(),
            });
        }
        if message.view::<SnapshotLayout>().is_some() {
            return Ok(Command::Snapshot);
        }
        Err(MessageError::Kind(message.kind()))
    }
}

impl Sequenced {
    /// The matcher input as the message the sequencer agent puts on the ring to the
    /// matcher agent. `recorded` is the journaled command the input comes from: its own
    /// sequence number for every input but a mass cancel, which has no record of its
    /// own and keeps `recorded` in its `caused_by` field ([`barrier`]).
    #[must_use]
    pub fn to_message(&self, recorded: SequenceNumber) -> Message {
        let command = match self.input {
            Input::NewOrder(order) => Command::NewOrder(order),
            Input::Cancel(cancel) => Command::Cancel(cancel),
            Input::Replace(replace) => Command::Replace(replace),
            Input::Nbbo(quote) => Command::Nbbo(quote),
            Input::VenueFill(fill) => Command::VenueFill(fill),
            Input::VenueCancel(cancel) => Command::VenueCancel(cancel),
            Input::EndOfDay => Command::EndOfDay {
                operator: 0,
                request: 0,
            },
            Input::Settings(change) => Command::Settings(change),
            Input::Snapshot => Command::Snapshot,
            Input::MassCancel(scope) => {
                let mut view = head::<MassCancelLayout>(self.sequence, self.time);
                if let Some(client) = scope.client {
                    view.flags |= MASS_CANCEL_CLIENT;
                    view.client = U32::new(client.get());
                }
                if let Some(symbol) = scope.symbol {
                    view.flags |= MASS_CANCEL_SYMBOL;
                    view.symbol = U32::new(symbol.get());
                }
                view.caused_by = U64::new(recorded.get());
                return Message::from_view(&view);
            }
            Input::ClientImprovement(change) => {
                let mut view = head::<ClientImprovementLayout>(self.sequence, self.time);
                view.client = U32::new(change.client.get());
                view.multiplier_ppm = U32::new(change.multiplier_ppm);
                view.caused_by = U64::new(recorded.get());
                return Message::from_view(&view);
            }
        };
        command.to_message(self.sequence, self.time)
    }

    /// The matcher input a message holds.
    ///
    /// # Errors
    /// [`MessageError`] for a kind that is no matcher input (a locate, an admin change,
    /// a risk reject) or a field its kind does not allow.
    pub fn from_message(message: &Message) -> Result<Sequenced, MessageError> {
        let input = if let Some(view) = message.view::<MassCancelLayout>() {
            let kind = MassCancelLayout::NAME;
            if view.flags & !(MASS_CANCEL_CLIENT | MASS_CANCEL_SYMBOL) != 0 {
                return Err(field(kind, "flags", view.flags));
            }
            Input::MassCancel(MassCancel {
                client: (view.flags & MASS_CANCEL_CLIENT != 0)
                    .then(|| ClientId::new(view.client.get())),
                symbol: (view.flags & MASS_CANCEL_SYMBOL != 0)
                    .then(|| SymbolId::new(view.symbol.get())),
            })
        } else if let Some(view) = message.view::<ClientImprovementLayout>() {
            let multiplier_ppm = view.multiplier_ppm.get();
            if multiplier_ppm > crossline_matcher::IMPROVEMENT_MULTIPLIER_PPM_MAX {
                return Err(field(
                    ClientImprovementLayout::NAME,
                    "multiplier_ppm",
                    multiplier_ppm,
                ));
            }
            Input::ClientImprovement(ClientImprovement {
                client: ClientId::new(view.client.get()),
                multiplier_ppm,
            })
        } else {
            Command::from_message(message)?
                .input()
                .ok_or(MessageError::Kind(message.kind()))?
        };
        Ok(Sequenced {
            sequence: SequenceNumber::new(message.sequence()),
            time: Timestamp::new(message.time()),
            input,
        })
    }
}

impl Output {
    /// The output as the message on the ring from the sequencer agent to the matcher
    /// agent, for an output that goes there: a matcher input ([`Sequenced::to_message`];
    /// a mass cancel's `caused_by` is its own sequence number until
    /// [`set_caused_by`]) or a risk reject ([`rejected_message`], at `time`, naming
    /// `original`, the command's [`Command::original_order`]). `None` for a refusal or
    /// an admin record, which no client hears of.
    #[must_use]
    pub fn to_message(&self, time: Timestamp, original: Option<ClientOrderId>) -> Option<Message> {
        match *self {
            Output::Matcher(sequenced) => Some(sequenced.to_message(sequenced.sequence)),
            Output::Rejected {
                sequence,
                client,
                client_order_id,
                reason,
            } => Some(rejected_message(
                sequence,
                time,
                client,
                client_order_id,
                original,
                &reason,
            )),
            Output::Ack {
                sequence,
                operator,
                request,
                result,
            } => {
                let mut view = head::<AdminAckLayout>(sequence, time);
                view.result = U16::new(result);
                view.operator = U32::new(operator);
                view.request = U32::new(request);
                Some(Message::from_view(&view))
            }
            Output::Refused { .. } | Output::Admin(_) => None,
        }
    }
}

/// An operator's acknowledgement on the `sequenced` ring ([`Output::Ack`]'s message),
/// read: the command's sequence number, the operator, the request number and the result
/// (0 applied, else the control error's code). `None` for a message of another kind.
#[must_use]
pub fn admin_ack(message: &Message) -> Option<AdminAck> {
    let view = message.view::<AdminAckLayout>()?;
    Some(AdminAck {
        sequence: view.sequence.get(),
        operator: view.operator.get(),
        request: view.request.get(),
        result: view.result.get(),
    })
}

/// An operator's acknowledgement, as [`admin_ack`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminAck {
    /// The control command's sequence number.
    pub sequence: u64,
    /// The operator.
    pub operator: u32,
    /// The operator's request number.
    pub request: u32,
    /// 0: applied; otherwise the control error's code.
    pub result: u16,
}

/// Sets the `caused_by` of a mass cancel or a client's improvement multiplier to
/// `recorded` (a message of any other kind is left as it is): for the sequencer agent, which learns the record's sequence number
/// only once the command is journaled.
pub fn set_caused_by(message: &mut Message, recorded: SequenceNumber) {
    if let Some(view) = message.view_mut::<MassCancelLayout>() {
        view.caused_by = U64::new(recorded.get());
    } else if let Some(view) = message.view_mut::<ClientImprovementLayout>() {
        view.caused_by = U64::new(recorded.get());
    }
}

/// A risk reject as the message the sequencer agent passes on for the client's reply:
/// the refused command's `sequence` and `time`, its client and client order id, the
/// order a refused cancel or replace was for, and the reason's code.
#[must_use]
pub fn rejected_message(
    sequence: SequenceNumber,
    time: Timestamp,
    client: ClientId,
    client_order_id: ClientOrderId,
    original: Option<ClientOrderId>,
    reason: &RiskReject,
) -> Message {
    let mut view = head::<RiskRejectedLayout>(sequence, time);
    view.reason = U16::new(reason.code());
    view.client = U32::new(client.get());
    view.client_order_id = U64::new(client_order_id.get());
    if let Some(original) = original {
        view.flags = RiskRejectedLayout::FLAG_ORIGINAL;
        view.original_client_order_id = U64::new(original.get());
    }
    Message::from_view(&view)
}

/// The sequence number of the journal record whose durability lets a message on the
/// ring after the sequencer take effect outside the process: the message's own, except
/// for a mass cancel or a client's improvement multiplier, which have no record and name
/// the command that caused them.
#[must_use]
pub fn barrier(message: &Message) -> u64 {
    if let Some(view) = message.view::<MassCancelLayout>() {
        return view.caused_by.get();
    }
    match message.view::<ClientImprovementLayout>() {
        Some(view) => view.caused_by.get(),
        None => message.sequence(),
    }
}

fn encode_admin(change: &AdminChange, view: &mut AdminLayout) {
    view.operator = U32::new(change.operator);
    view.request = U32::new(change.request);
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
        Setting::MarketHalted(symbol, value) => {
            on(view, value);
            (14, symbol.get())
        }
        Setting::ImprovementMultiplier(client, ppm) => {
            view.a = I64::new(i64::from(ppm));
            (AdminLayout::SETTING_IMPROVEMENT_MULTIPLIER, client.get())
        }
    };
    view.setting = setting;
    view.target = U32::new(target);
}

fn decode_admin(view: &AdminLayout) -> Result<AdminChange, MessageError> {
    let kind = AdminLayout::NAME;
    let flags = view.flags;
    view.check()
        .map_err(|(name, value)| field(kind, name, value))?;
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
        14 => Setting::MarketHalted(symbol, on),
        AdminLayout::SETTING_IMPROVEMENT_MULTIPLIER => {
            // `check` bounded it to 0..=2,000,000.
            Setting::ImprovementMultiplier(client, u32_value(kind, "a", a)?)
        }
        other => return Err(field(kind, "setting", other)),
    };
    Ok(AdminChange {
        operator: view.operator.get(),
        request: view.request.get(),
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
            Setting::MarketHalted(symbol, true),
            Setting::ImprovementMultiplier(client, 0),
            Setting::ImprovementMultiplier(client, 2_000_000),
        ];
        for (index, setting) in settings.into_iter().enumerate() {
            let expires_at = (index % 2 == 0).then(|| Timestamp::new(u64::MAX - 1));
            round_trip(Command::Admin(AdminChange {
                operator: 77,
                request: 0,
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
            locate_id: u64::MAX,
            expires_s: u32::MAX,
            operator: u32::MAX,
            request: u32::MAX,
        });
        round_trip(Command::VenueFill(VenueFill {
            order_id: OrderId::new(u64::MAX),
            quantity: Quantity::new(5),
            price,
            venue: 7,
            fee: Price::from_micros(-1_500),
        }));
        round_trip(Command::VenueChild(VenueChild {
            order_id: OrderId::new(u64::MAX),
            venue: 255,
            quantity: Quantity::new(500),
            filled: Quantity::new(200),
            lost: true,
        }));
        round_trip(Command::VenueCancel(VenueCancel {
            order_id: OrderId::new(1),
            quantity: Quantity::new(5),
        }));
        round_trip(Command::END_OF_DAY);
        round_trip(Command::EndOfDay {
            operator: 7,
            request: u32::MAX,
        });
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
            request: 0,
            setting: Setting::Halted(SymbolId::new(1), true),
            expires_at: None,
        });
        let mut bytes = *admin
            .to_message(SequenceNumber::new(1), Timestamp::new(1))
            .bytes();
        bytes[17] = 16;
        assert!(matches!(
            Command::from_message(&Message::from_bytes(bytes)),
            Err(MessageError::Field {
                field: "setting",
                ..
            })
        ));
        // A price-improvement multiplier past ×2 is refused, naming `a`.
        let multiplier = |ppm| {
            let change = Command::Admin(AdminChange {
                operator: 1,
                request: 0,
                setting: Setting::ImprovementMultiplier(ClientId::new(3), ppm),
                expires_at: None,
            });
            Command::from_message(&change.to_message(SequenceNumber::new(1), Timestamp::new(1)))
        };
        assert!(multiplier(2_000_000).is_ok());
        assert_eq!(
            multiplier(2_000_001),
            Err(MessageError::Field {
                kind: "Admin",
                field: "a",
                value: 2_000_001
            })
        );
        // The matcher's copy on the ring is checked the same way.
        let input = Sequenced {
            sequence: SequenceNumber::new(4),
            time: Timestamp::new(1),
            input: Input::ClientImprovement(ClientImprovement {
                client: ClientId::new(3),
                multiplier_ppm: 2_000_001,
            }),
        };
        assert_eq!(
            Sequenced::from_message(&input.to_message(SequenceNumber::new(3))),
            Err(MessageError::Field {
                kind: "ClientImprovement",
                field: "multiplier_ppm",
                value: 2_000_001
            })
        );
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
            bytes[KIND_OFFSET] = u8::try_from(round % 15).unwrap_or(0);
            let message = Message::from_bytes(bytes);
            if let Ok(command) = Command::from_message(&message) {
                let again = command.to_message(SequenceNumber::new(1), Timestamp::new(1));
                assert_eq!(Command::from_message(&again), Ok(command));
            }
            if let Ok(sequenced) = Sequenced::from_message(&message) {
                let again = sequenced.to_message(SequenceNumber::new(barrier(&message)));
                assert_eq!(Sequenced::from_message(&again), Ok(sequenced));
            }
        }
    }

    #[test]
    fn every_matcher_input_round_trips_and_a_mass_cancel_names_its_record() {
        let client = ClientId::new(3);
        let symbol = SymbolId::new(9);
        let inputs = [
            Input::NewOrder(NewOrder {
                client,
                symbol,
                client_order_id: ClientOrderId::new(5),
                price: Price::from_micros(10_000_000),
                quantity: Quantity::new(100),
                side: Side::SellShort,
                order_type: OrderType::Limit,
                time_in_force: TimeInForce::ImmediateOrCancel,
                capacity: Capacity::Principal,
            }),
            Input::Cancel(Cancel {
                client,
                symbol,
                client_order_id: ClientOrderId::new(6),
                original_client_order_id: ClientOrderId::new(5),
            }),
            Input::EndOfDay,
            Input::Snapshot,
            Input::MassCancel(MassCancel::default()),
            Input::MassCancel(MassCancel {
                client: Some(client),
                symbol: None,
            }),
            Input::MassCancel(MassCancel {
                client: None,
                symbol: Some(symbol),
            }),
            Input::ClientImprovement(ClientImprovement {
                client,
                multiplier_ppm: 1_500_000,
            }),
        ];
        for input in inputs {
            let sequenced = Sequenced {
                sequence: SequenceNumber::new(42),
                time: Timestamp::new(7),
                input,
            };
            let message = sequenced.to_message(SequenceNumber::new(41));
            assert_eq!((message.sequence(), message.time()), (42, 7));
            assert_eq!(
                Sequenced::from_message(&message),
                Ok(sequenced),
                "{input:?}"
            );
            let waits_for = if matches!(input, Input::MassCancel(_) | Input::ClientImprovement(_)) {
                41
            } else {
                42
            };
            assert_eq!(barrier(&message), waits_for, "{input:?}");
        }
        // A locate and an admin change stop at the gate: they are no matcher input.
        let locate = Command::Locate {
            client,
            symbol,
            shares: 100,
            locate_id: 0,
            expires_s: 0,
            operator: 0,
            request: 0,
        };
        let message = locate.to_message(SequenceNumber::new(1), Timestamp::new(1));
        assert_eq!(
            Sequenced::from_message(&message),
            Err(MessageError::Kind(7))
        );
        let mut bad = Sequenced {
            sequence: SequenceNumber::new(1),
            time: Timestamp::new(1),
            input: Input::MassCancel(MassCancel::default()),
        }
        .to_message(SequenceNumber::new(1));
        if let Some(view) = bad.view_mut::<MassCancelLayout>() {
            view.flags = 4;
        }
        assert_eq!(
            Sequenced::from_message(&bad),
            Err(field("MassCancel", "flags", 4))
        );
    }

    #[test]
    fn a_risk_reject_carries_what_the_reply_needs() {
        let reason = RiskReject::RateLimited;
        let client = ClientId::new(3);
        let (coid, original) = (ClientOrderId::new(8), ClientOrderId::new(0));
        let at = (SequenceNumber::new(9), Timestamp::new(4));
        let plain = rejected_message(at.0, at.1, client, coid, None, &reason);
        let view = plain.view::<RiskRejectedLayout>().expect("a risk reject");
        assert_eq!(
            (
                view.client.get(),
                view.client_order_id.get(),
                view.reason.get()
            ),
            (3, 8, reason.code())
        );
        assert_eq!(view.original_client_order_id(), None);
        assert_eq!(barrier(&plain), 9);
        // An original order id of zero is still an original order.
        let of_cancel = rejected_message(at.0, at.1, client, coid, Some(original), &reason);
        let view = of_cancel
            .view::<RiskRejectedLayout>()
            .expect("a risk reject");
        assert_eq!(view.original_client_order_id(), Some(original.get()));
        assert!(Sequenced::from_message(&of_cancel).is_err());
    }
}
