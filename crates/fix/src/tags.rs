//! The FIX tag numbers Crossline reads or writes (`docs/FIX.md` lists each with its use).

#![allow(missing_docs)] // each constant is the FIX field of the same name

pub const ACCOUNT: u32 = 1;
pub const AVG_PX: u32 = 6;
pub const BEGIN_SEQ_NO: u32 = 7;
pub const BEGIN_STRING: u32 = 8;
pub const BODY_LENGTH: u32 = 9;
pub const CHECK_SUM: u32 = 10;
pub const CL_ORD_ID: u32 = 11;
pub const COMMISSION: u32 = 12;
pub const COMM_TYPE: u32 = 13;
pub const CUM_QTY: u32 = 14;
pub const END_SEQ_NO: u32 = 16;
pub const EXEC_ID: u32 = 17;
pub const EXEC_TRANS_TYPE: u32 = 20;
pub const HANDL_INST: u32 = 21;
pub const LAST_CAPACITY: u32 = 29;
pub const LAST_MKT: u32 = 30;
pub const LAST_PX: u32 = 31;
pub const LAST_SHARES: u32 = 32;
pub const MSG_SEQ_NUM: u32 = 34;
pub const MSG_TYPE: u32 = 35;
pub const NEW_SEQ_NO: u32 = 36;
pub const ORDER_ID: u32 = 37;
pub const ORDER_QTY: u32 = 38;
pub const ORD_STATUS: u32 = 39;
pub const ORD_TYPE: u32 = 40;
pub const ORIG_CL_ORD_ID: u32 = 41;
pub const POSS_DUP_FLAG: u32 = 43;
pub const PRICE: u32 = 44;
pub const REF_SEQ_NUM: u32 = 45;
pub const RULE_80A: u32 = 47;
pub const SENDER_COMP_ID: u32 = 49;
pub const SENDING_TIME: u32 = 52;
pub const SIDE: u32 = 54;
pub const SYMBOL: u32 = 55;
pub const TARGET_COMP_ID: u32 = 56;
pub const TEXT: u32 = 58;
pub const TIME_IN_FORCE: u32 = 59;
pub const TRANSACT_TIME: u32 = 60;
pub const ENCRYPT_METHOD: u32 = 98;
pub const ORD_REJ_REASON: u32 = 103;
pub const CXL_REJ_REASON: u32 = 102;
pub const HEART_BT_INT: u32 = 108;
pub const TEST_REQ_ID: u32 = 112;
pub const ORIG_SENDING_TIME: u32 = 122;
pub const GAP_FILL_FLAG: u32 = 123;
pub const RESET_SEQ_NUM_FLAG: u32 = 141;
pub const EXEC_TYPE: u32 = 150;
pub const LEAVES_QTY: u32 = 151;
pub const REF_TAG_ID: u32 = 371;
pub const REF_MSG_TYPE: u32 = 372;
pub const SESSION_REJECT_REASON: u32 = 373;
pub const BUSINESS_REJECT_REF_ID: u32 = 379;
pub const BUSINESS_REJECT_REASON: u32 = 380;
pub const CXL_REJ_RESPONSE_TO: u32 = 434;
pub const ORDER_CAPACITY: u32 = 528;
pub const USERNAME: u32 = 553;
pub const PASSWORD: u32 = 554;
pub const LAST_LIQUIDITY_IND: u32 = 851;
/// User-defined: the execution's price improvement per share over the NBBO, in
/// dollars (`docs/FIX.md`).
pub const PRICE_IMPROVEMENT: u32 = 20_001;
/// User-defined: the reason code behind a reject or cancel, the number
/// `docs/PROTOCOL.md` and `docs/RISK.md` list (`docs/FIX.md`).
pub const CROSSLINE_REASON: u32 = 20_002;
