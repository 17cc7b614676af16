//! The engine's decoder of client frames, fed a whole stream: every frame is split off,
//! decoded, and (when valid) re-encoded to the same bytes, until the stream ends or its
//! framing breaks.
#![no_main]

use crossline_protocol::client::Inbound;
use crossline_protocol::frame::{split, FRAME_BYTES_MAX};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((header, body))) = split(rest) {
        let frame = &rest[..usize::from(header.length)];
        if let Ok(message) = Inbound::decode(&header, body) {
            let mut out = [0u8; FRAME_BYTES_MAX];
            let length = message.encode(header.sequence, header.flags, &mut out);
            assert_eq!(&out[..length], frame, "re-encoding changed {message:?}");
        }
        rest = &rest[usize::from(header.length)..];
    }
});
