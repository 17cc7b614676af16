//! Run-time changes to the gate's limits and controls: admin messages. Each is an input
//! like any other (sequenced and journaled by the sequencer), names who made it, and
//! yields an [`AdminRecord`] with the old and the new value for the audit trail. A
//! temporary change reverts by itself when the first input at or after its expiry
//! arrives (time comes from inputs, so replay reverts at the same point).

use crossline_types::{ClientId, Price, Quantity, SymbolId, Timestamp};

use crate::gate::KillTarget;

/// One limit or control and its value: what an admin message sets, and what the audit
/// record reports before and after.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// A client's credit limit (micro-dollars).
    CreditLimit(ClientId, Price),
    /// A client's largest order quantity.
    OrderQuantityMax(ClientId, Quantity),
    /// A client's largest order notional (micro-dollars).
    OrderNotionalMax(ClientId, Price),
    /// A client's sustained message rate, per second.
    MessagesPerSecond(ClientId, u32),
    /// A client's largest market order, ppm of average daily volume.
    MarketOrderAdvPpm(ClientId, u32),
    /// A symbol on or off the restricted list.
    Restricted(SymbolId, bool),
    /// A symbol's trading halt.
    Halted(SymbolId, bool),
    /// A symbol's limit-up/limit-down band (`None`: no band).
    Band(SymbolId, Option<(Price, Price)>),
    /// A symbol's Rule 201 short-sale price test.
    Rule201(SymbolId, bool),
    /// A symbol's average daily volume, shares.
    AverageDailyVolume(SymbolId, u64),
    /// A kill switch (turning one on cancels the open orders in its scope).
    KillSwitch(KillTarget, bool),
    /// A symbol's trading halt as the market declared it (the feed's halt and resume).
    /// It is kept apart from an operator's [`Setting::Halted`]: either one halts the
    /// symbol, and the market's resume does not lift an operator's halt.
    MarketHalted(SymbolId, bool),
    /// A client's price-improvement multiplier, parts per million (0 to 2,000,000;
    /// 1,000,000 is the symbol's own improvement): the matcher scales the improvement of
    /// the firm's principal fills of this client's orders by it.
    ImprovementMultiplier(ClientId, u32),
}

/// The price-improvement multiplier of a client no operator has set one for, ppm (×1).
pub const IMPROVEMENT_PPM_DEFAULT: u32 = crossline_matcher::PPM;

/// An admin message: who changes what, and until when.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminChange {
    /// The operator making the change (an id from the firm's entitlement system).
    pub operator: u32,
    /// The operator's request number on the admin port (0: not from the port).
    pub request: u32,
    /// The setting and its new value.
    pub setting: Setting,
    /// When the change reverts by itself (`None`: it stands until changed again).
    pub expires_at: Option<Timestamp>,
}

/// What an admin message, or the expiry of one, did: for the journal and the audit trail.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminRecord {
    /// Who: the operator, or for an expiry the operator of the change that expired.
    pub operator: u32,
    /// The value before.
    pub old: Setting,
    /// The value after.
    pub new: Setting,
    /// When the change will revert, if it is temporary.
    pub expires_at: Option<Timestamp>,
    /// How it came about.
    pub cause: AdminCause,
}

/// Why an [`AdminRecord`] was made.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminCause {
    /// An admin message.
    Message,
    /// A temporary change reached its expiry and was reverted.
    Expired,
    /// A temporary change reached its expiry but a later change had replaced its value,
    /// so the later one stands (`old` and `new` are then the same).
    Superseded,
}

/// A temporary change waiting for its expiry.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy)]
pub(crate) struct Pending {
    pub(crate) expires_at: Timestamp,
    pub(crate) operator: u32,
    /// The value to restore.
    pub(crate) old: Setting,
    /// The value the change set: restored only if still in force.
    pub(crate) new: Setting,
}
