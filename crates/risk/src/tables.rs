//! The gate's fixed-capacity tables: the client order ids each client used today, located
//! shares, and the open orders counted against credit. Each is sized at construction and
//! never allocates again; each is laid out so that the common case touches few cache
//! lines (a check has a budget of tens of nanoseconds, and a cache miss costs about a
//! hundred on a busy host).

use crossline_index::{grouped, mix, Index};

use crossline_types::{ClientId, ClientOrderId, Price, Side, SymbolId};

use crate::hash::FastSet;

/// The client order ids one client used today.
///
/// Sessions number their orders upwards, so an id above the highest seen is new without a
/// lookup, and is appended to a sorted list whose tail is the only line touched. An id at
/// or below the highest (a client that numbers out of order, or reuses one) is looked up
/// in that list by binary search and in a hash set of the ids that arrived out of order.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct UsedIds {
    high: u64,
    #[serde(with = "crossline_types::serde_support::capacity")]
    ascending: Vec<u64>,
    #[serde(with = "crate::hash::sorted")]
    scattered: FastSet<u64>,
    max: usize,
}

impl UsedIds {
    pub(crate) fn new(max: u32) -> UsedIds {
        let max = max as usize;
        let mut scattered = FastSet::default();
        scattered.reserve(max);
        UsedIds {
            high: 0,
            ascending: Vec::with_capacity(max),
            scattered,
            max,
        }
    }

    #[inline]
    pub(crate) fn contains(&self, id: u64) -> bool {
        id <= self.high
            && (self.ascending.binary_search(&id).is_ok() || self.scattered.contains(&id))
    }

    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.ascending.len() + self.scattered.len() >= self.max
    }

    /// Remembers `id` (absent, and the table not full).
    #[inline]
    pub(crate) fn insert(&mut self, id: u64) {
        if id > self.high {
            self.high = id;
            self.ascending.push(id);
        } else {
            self.scattered.insert(id);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.high = 0;
        self.ascending.clear();
        self.scattered.clear();
    }
}

/// Located shares per (client, symbol): an open-addressed table whose sixteen-byte
/// entries hold the key and the shares together, so a lookup reads one cache line (the
/// gate's tables are larger than the cache; every line it reads may be a miss). Nothing
/// is removed during the day; the end of the day clears it, when locates lapse.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Locates {
    entries: Vec<LocateEntry>,
    mask: usize,
    len: u32,
    max: u32,
}

/// Key: client id in the high half, symbol id in the low; `EMPTY_KEY` marks a free entry
/// (ids are at most `ID_MAX`, so no pair has that key).
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy)]
#[repr(align(16))]
struct LocateEntry {
    key: u64,
    shares: u64,
}

const EMPTY_KEY: u64 = u64::MAX;

fn locate_key(client: ClientId, symbol: SymbolId) -> u64 {
    (u64::from(client.get()) << 32) | u64::from(symbol.get())
}

impl Locates {
    pub(crate) fn new(max: u32) -> Locates {
        let size = (max as usize * 2).next_power_of_two().max(8);
        Locates {
            entries: vec![
                LocateEntry {
                    key: EMPTY_KEY,
                    shares: 0
                };
                size
            ],
            mask: size - 1,
            len: 0,
            max,
        }
    }

    /// Where `key` sits, or the free entry where it would go.
    #[inline]
    fn position(&self, key: u64) -> usize {
        // The mix's low bits pick the home entry.
        let mut index = usize::try_from(mix(key) & self.mask as u64).unwrap_or(0);
        loop {
            let found = self.entries[index].key;
            if found == key || found == EMPTY_KEY {
                return index;
            }
            index = (index + 1) & self.mask;
        }
    }

    /// Shares located and not yet used.
    #[inline]
    pub(crate) fn get(&self, client: ClientId, symbol: SymbolId) -> u64 {
        self.entries[self.position(locate_key(client, symbol))].shares
    }

    /// Adds located shares; `false` (changing nothing) when the pair is new and the table
    /// is full.
    pub(crate) fn add(&mut self, client: ClientId, symbol: SymbolId, shares: u64) -> bool {
        let key = locate_key(client, symbol);
        let position = self.position(key);
        let entry = &mut self.entries[position];
        if entry.key == EMPTY_KEY {
            if self.len == self.max {
                return false;
            }
            self.len += 1;
            *entry = LocateEntry { key, shares: 0 };
        }
        entry.shares = entry.shares.saturating_add(shares);
        true
    }

    /// Uses located shares (at most those left).
    #[inline]
    pub(crate) fn take(&mut self, client: ClientId, symbol: SymbolId, shares: u64) {
        let position = self.position(locate_key(client, symbol));
        let entry = &mut self.entries[position];
        entry.shares = entry.shares.saturating_sub(shares);
    }

    pub(crate) fn clear(&mut self) {
        self.entries.fill(LocateEntry {
            key: EMPTY_KEY,
            shares: 0,
        });
        self.len = 0;
    }
}

/// An open order the gate counts against its client's credit.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy)]
pub(crate) struct Open {
    pub(crate) client: ClientId,
    pub(crate) client_order_id: ClientOrderId,
    pub(crate) symbol: SymbolId,
    pub(crate) side: Side,
    /// The price its open shares are valued at: the limit, or for a market order the far
    /// NBBO side when it arrived.
    pub(crate) price: Price,
    pub(crate) ordered: u32,
    pub(crate) filled: u32,
    pub(crate) live: bool,
}

impl Open {
    pub(crate) fn open_notional(&self) -> i128 {
        i128::from(self.ordered - self.filled) * i128::from(self.price.micros())
    }
}

fn open_hash(client: ClientId, client_order_id: ClientOrderId) -> u64 {
    grouped(u64::from(client.get()), client_order_id.get())
}

/// Open orders in a slab (iterated in slot order by kill switches and the end of day:
/// deterministic), found by (client, client order id). Freed slots are reused last-in
/// first-out, so a steady flow of orders keeps reusing the same few, cached, records.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct OpenOrders {
    records: Vec<Open>,
    #[serde(with = "crossline_types::serde_support::capacity")]
    free: Vec<u32>,
    index: Index,
}

impl OpenOrders {
    pub(crate) fn new(max: u32) -> OpenOrders {
        let blank = Open {
            client: ClientId::new(0),
            client_order_id: ClientOrderId::new(0),
            symbol: SymbolId::new(0),
            side: Side::Buy,
            price: Price::ZERO,
            ordered: 0,
            filled: 0,
            live: false,
        };
        OpenOrders {
            records: vec![blank; max as usize],
            free: (0..max).rev().collect(),
            index: Index::new(max),
        }
    }

    #[inline]
    pub(crate) fn find(&self, client: ClientId, client_order_id: ClientOrderId) -> Option<u32> {
        let records = &self.records;
        self.index.get(open_hash(client, client_order_id), |slot| {
            let open = &records[slot as usize];
            open.client == client && open.client_order_id == client_order_id
        })
    }

    pub(crate) fn get(&self, slot: u32) -> &Open {
        &self.records[slot as usize]
    }

    pub(crate) fn get_mut(&mut self, slot: u32) -> &mut Open {
        &mut self.records[slot as usize]
    }

    pub(crate) fn is_full(&self) -> bool {
        self.free.is_empty()
    }

    /// Adds an open order (its key absent); `false` when the table is full.
    #[inline]
    pub(crate) fn insert(&mut self, open: Open) -> bool {
        let Some(slot) = self.free.pop() else {
            return false;
        };
        if !self
            .index
            .insert(open_hash(open.client, open.client_order_id), slot)
        {
            self.free.push(slot);
            return false;
        }
        self.records[slot as usize] = Open { live: true, ..open };
        true
    }

    /// Forgets the order in `slot`.
    pub(crate) fn remove(&mut self, slot: u32) {
        let open = &mut self.records[slot as usize];
        open.live = false;
        let hash = open_hash(open.client, open.client_order_id);
        self.index.remove(hash, |found| found == slot);
        self.free.push(slot);
    }

    /// Gives the order in `slot` a new client order id (a replace that renamed it).
    pub(crate) fn rename(&mut self, slot: u32, client_order_id: ClientOrderId) {
        let open = &mut self.records[slot as usize];
        let old = open_hash(open.client, open.client_order_id);
        let new = open_hash(open.client, client_order_id);
        open.client_order_id = client_order_id;
        self.index.remove(old, |found| found == slot);
        // Room is certain: one entry just left.
        let _ = self.index.insert(new, slot);
    }

    pub(crate) fn len(&self) -> usize {
        self.index.len() as usize
    }

    /// Live orders in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Open> {
        self.records.iter().filter(|open| open.live)
    }
}
