//! Both directions of the venue protocol: the router's decoder of venue reports and the
//! venue simulator's decoder of child orders.
#![no_main]

use crossline_protocol::frame::{split, FRAME_BYTES_MAX};
use crossline_protocol::venue::{FromVenue, ToVenue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((header, body))) = split(rest) {
        let frame = &rest[..usize::from(header.length)];
        let mut out = [0u8; FRAME_BYTES_MAX];
        if let Ok(message) = FromVenue::decode(&header, body) {
            let length = message.encode(header.sequence, header.flags, &mut out);
            assert_eq!(&out[..length], frame, "re-encoding changed {message:?}");
        }
        if let Ok(message) = ToVenue::decode(&header, body) {
            let length = message.encode(header.sequence, header.flags, &mut out);
            assert_eq!(&out[..length], frame, "re-encoding changed {message:?}");
        }
        rest = &rest[usize::from(header.length)..];
    }
});
