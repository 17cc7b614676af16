//! A client's decoder of the engine's replies (the test clients and the simulator use it).
#![no_main]

use crossline_protocol::client::Outbound;
use crossline_protocol::frame::{split, FRAME_BYTES_MAX};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((header, body))) = split(rest) {
        let frame = &rest[..usize::from(header.length)];
        if let Ok(message) = Outbound::decode(&header, body) {
            let mut out = [0u8; FRAME_BYTES_MAX];
            let length = message.encode(header.sequence, header.flags, &mut out);
            assert_eq!(&out[..length], frame, "re-encoding changed {message:?}");
        }
        rest = &rest[usize::from(header.length)..];
    }
});
