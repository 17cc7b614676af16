//! Snapshot files: the header and part checks take any bytes, and the engine's decoding
//! of the parts (which follows only for a file whose CRC and state hash hold) takes any
//! parts, each answering with a snapshot or an error, never a panic.
#![no_main]

use std::path::Path;

use crossline_engine::snapshot::{self, Parts, Snapshot};
use crossline_engine::Engine;
use crossline_sequencer::NoJournal;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.cxs");
    let _ = snapshot::parse(path, data, 0);
    // The parts, as if the file's checks had passed: split the input in three.
    let third = data.len() / 3;
    let snapshot = Snapshot {
        cut: 1,
        state_hash: 0,
        parts: Parts {
            sequencer: data[..third].to_vec(),
            pending: data[third..2 * third].to_vec(),
            matcher: data[2 * third..].to_vec(),
            replies: Vec::new(),
        },
        path: path.to_owned(),
    };
    let _ = Engine::from_snapshot(&snapshot, NoJournal);
});
