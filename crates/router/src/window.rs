//! A venue's recent fill rate: shares filled over shares sent in its last `capacity`
//! child orders, kept as running sums over a fixed ring (no allocation after start).

pub(crate) struct FillWindow {
    /// (shares sent, shares filled) per child, oldest overwritten first.
    ring: Vec<(u32, u32)>,
    next: usize,
    len: usize,
    sent: u64,
    filled: u64,
}

impl FillWindow {
    pub(crate) fn new(capacity: u32) -> FillWindow {
        FillWindow {
            ring: vec![(0, 0); capacity.max(1) as usize],
            next: 0,
            len: 0,
            sent: 0,
            filled: 0,
        }
    }

    /// Records a finished child order.
    pub(crate) fn record(&mut self, sent: u32, filled: u32) {
        if self.len == self.ring.len() {
            let (old_sent, old_filled) = self.ring[self.next];
            self.sent -= u64::from(old_sent);
            self.filled -= u64::from(old_filled);
        } else {
            self.len += 1;
        }
        self.ring[self.next] = (sent, filled);
        self.sent += u64::from(sent);
        self.filled += u64::from(filled);
        self.next = (self.next + 1) % self.ring.len();
    }

    /// Parts per million of the shares sent that were filled; a venue with no history
    /// counts as filling everything (so it gets tried).
    pub(crate) fn rate_ppm(&self) -> u64 {
        if self.sent == 0 {
            return 1_000_000;
        }
        self.filled * 1_000_000 / self.sent
    }
}

#[cfg(test)]
mod tests {
    use super::FillWindow;

    #[test]
    fn the_rate_covers_only_the_last_children() {
        let mut window = FillWindow::new(2);
        assert_eq!(window.rate_ppm(), 1_000_000, "no history: assumed full");
        window.record(100, 0);
        assert_eq!(window.rate_ppm(), 0);
        window.record(100, 100);
        assert_eq!(window.rate_ppm(), 500_000);
        // The first child (nothing filled) falls out of the window.
        window.record(300, 300);
        assert_eq!(window.rate_ppm(), 1_000_000);
        window.record(100, 25);
        assert_eq!(window.rate_ppm(), 325 * 1_000_000 / 400);
    }
}
