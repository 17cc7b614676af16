//! The `crossline` command.
fn main() {}
