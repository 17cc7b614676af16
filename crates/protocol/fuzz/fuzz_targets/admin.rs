//! The engine's decoder of operator frames on the admin port (and the operator client's
//! decoder of the engine's answers), fed a whole stream: every frame is split off,
//! decoded both ways, and (when valid) re-encoded to the same bytes, until the stream
//! ends or its framing breaks.
#![no_main]

use crossline_protocol::admin::{Inbound, Outbound};
use crossline_protocol::frame::{split, FRAME_BYTES_MAX};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((header, body))) = split(rest) {
        let frame = &rest[..usize::from(header.length)];
        let mut out = [0u8; FRAME_BYTES_MAX];
        if let Ok(message) = Inbound::decode(&header, body) {
            let length = message.encode(header.sequence, header.flags, &mut out);
            assert_eq!(&out[..length], frame, "re-encoding changed {message:?}");
        }
        if let Ok(message) = Outbound::decode(&header, body) {
            let length = message.encode(header.sequence, header.flags, &mut out);
            assert_eq!(&out[..length], frame, "re-encoding changed {message:?}");
        }
        rest = &rest[usize::from(header.length)..];
    }
});
