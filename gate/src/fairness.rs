//! Fair joining per address: no one address holds more than a set number of places at once.
//!
//! # Why a cap on places held, and why 4 000 by default
//!
//! A whole lycée sits behind one address: 2 000 pupils through one NAT, all arriving in the
//! same two minutes. A limit on the *rate* of joins per address would either slow that school
//! down or be too loose to matter. A limit on the *places held at once* does neither:
//!
//! - Each pupil holds one place (the widget keeps its ticket across reloads and tabs), so the
//!   school holds at most 2 000; the default [`DEFAULT_MAX_PER_ADDRESS`] of 4 000 leaves room
//!   for a second device or a private window per pupil, and is never reached by the school
//!   however fast it arrives.
//! - A single address flooding the gate holds at most 4 000 places, so it can push a pupil who
//!   arrives after it back by **at most 4 000 places** (about 2 minutes at 2 000 admissions a
//!   minute, less once the gate has learnt that those holders never come back). Its later
//!   requests take no place: they are told to come back in 2 minutes.
//!
//! A place is released when its ticket is admitted or dropped. IPv6 addresses are counted
//! per /64 (one household or one site has a whole /64 to pick addresses from). Behind a
//! reverse proxy every client has the proxy's address: set `--client-address-header` so that
//! the gate reads the client's from the proxy's `X-Forwarded-For` or `X-Real-IP`.
//!
//! Memory: 4 bytes per sequence number issued since the oldest place still held, and one entry
//! per address holding a place.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use axum::http::HeaderMap;

/// Default cap on the places one address holds at once.
pub const DEFAULT_MAX_PER_ADDRESS: u32 = 4_000;

/// Marks a sequence number that no limited address holds.
const NOBODY: u32 = u32::MAX;

/// Who is counted as one client: an IPv4 address, or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(u128);

impl ClientKey {
    /// The key of `ip`: the address itself for IPv4 (and IPv4-mapped IPv6), its /64 for IPv6.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => ClientKey(u128::from(v4.to_bits())),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(u128::from(v4.to_bits())),
                None => ClientKey(v6.to_bits() & !u128::from(u64::MAX)),
            },
        }
    }

    /// The key as 32 hex digits: how the shared store ([`crate::store`]) counts it.
    pub fn to_hex(self) -> String {
        format!("{:032x}", self.0)
    }

    /// The client's address as a trusted proxy reports it in header `name`: the last entry of
    /// an `X-Forwarded-For` list (the one the proxy added itself; those before it are the
    /// client's word), or an `X-Real-IP`. `None` when absent or not an address.
    pub fn from_header(headers: &HeaderMap, name: &str) -> Option<Self> {
        // A repeated header is one list, in order: the last line holds the last entry.
        let value = headers.get_all(name).iter().next_back()?.to_str().ok()?;
        let last = value.rsplit(',').next()?.trim();
        parse_address(last).map(ClientKey::of)
    }
}

/// An address as proxies write it: `203.0.113.7`, `2001:db8::1`, `[2001:db8::1]:443` or
/// `203.0.113.7:51234`.
fn parse_address(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Ok(socket) = s.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    s.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).and_then(|ip| ip.parse().ok())
}

/// Places held per address, and which address holds each place. Pure: the gate calls it
/// under the queue's lock with the queue's sequence numbers.
#[derive(Debug)]
pub struct JoinLedger {
    max_per_address: u32,
    /// Sequence number of `holders[0]`.
    first: u64,
    /// The address slot holding each sequence number from `first`, or [`NOBODY`].
    holders: VecDeque<u32>,
    /// Per slot: its address and the places it holds.
    slots: Vec<(ClientKey, u32)>,
    free: Vec<u32>,
    by_key: HashMap<ClientKey, u32>,
}

impl JoinLedger {
    /// An empty ledger allowing `max_per_address` places per address.
    pub fn new(max_per_address: u32) -> Self {
        JoinLedger {
            max_per_address,
            first: 0,
            holders: VecDeque::new(),
            slots: Vec::new(),
            free: Vec::new(),
            by_key: HashMap::new(),
        }
    }

    /// Places `key` holds.
    pub fn held(&self, key: ClientKey) -> u32 {
        self.by_key.get(&key).map_or(0, |&slot| self.slots[slot as usize].1)
    }

    /// Whether `key` may take one more place.
    pub fn may_join(&self, key: ClientKey) -> bool {
        self.held(key) < self.max_per_address
    }

    /// Addresses holding at least one place.
    pub fn addresses(&self) -> usize {
        self.by_key.len()
    }

    /// `key` took the place numbered `seq` (numbers come in increasing order).
    pub fn joined(&mut self, seq: u64, key: ClientKey) {
        if self.holders.is_empty() {
            self.first = seq;
        }
        let Some(index) = seq.checked_sub(self.first) else { return };
        let Ok(index) = usize::try_from(index) else { return };
        if index < self.holders.len() {
            // Not a new number: never counted twice.
            return;
        }
        let slot = match self.by_key.get(&key) {
            Some(&slot) => slot,
            None => {
                let slot = match self.free.pop() {
                    Some(slot) => {
                        self.slots[slot as usize] = (key, 0);
                        slot
                    }
                    None => {
                        self.slots.push((key, 0));
                        (self.slots.len() - 1) as u32
                    }
                };
                self.by_key.insert(key, slot);
                slot
            }
        };
        self.slots[slot as usize].1 += 1;
        self.holders.resize(index, NOBODY);
        self.holders.push_back(slot);
    }

    /// The place numbered `seq` is no longer held (admitted or dropped); a number this ledger
    /// does not hold, or no longer, is ignored.
    pub fn left(&mut self, seq: u64) {
        let Some(index) = seq.checked_sub(self.first) else { return };
        let Some(holder) = usize::try_from(index).ok().and_then(|i| self.holders.get_mut(i)) else {
            return;
        };
        let slot = std::mem::replace(holder, NOBODY);
        if slot != NOBODY {
            let (key, held) = &mut self.slots[slot as usize];
            *held -= 1;
            if *held == 0 {
                let key = *key;
                self.by_key.remove(&key);
                self.free.push(slot);
            }
        }
        while self.holders.front() == Some(&NOBODY) {
            self.holders.pop_front();
            self.first += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> ClientKey {
        ClientKey::of(s.parse().unwrap())
    }

    #[test]
    fn ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:203.0.113.7"), key("203.0.113.7"));
        assert_ne!(key("203.0.113.7"), key("203.0.113.8"));
    }

    #[test]
    fn the_proxy_header_is_read_from_its_last_entry() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "198.51.100.1, 203.0.113.7".parse().unwrap());
        headers.insert("x-real-ip", "[2001:db8::1]:443".parse().unwrap());
        let xff = ClientKey::from_header(&headers, "x-forwarded-for");
        assert_eq!(xff, Some(key("203.0.113.7")));
        assert_eq!(ClientKey::from_header(&headers, "x-real-ip"), Some(key("2001:db8::1")));
        headers.insert("x-bad", "not an address".parse().unwrap());
        assert_eq!(ClientKey::from_header(&headers, "x-bad"), None);
        assert_eq!(ClientKey::from_header(&headers, "x-missing"), None);
        headers.insert("x-port", "203.0.113.9:5123".parse().unwrap());
        assert_eq!(ClientKey::from_header(&headers, "x-port"), Some(key("203.0.113.9")));
    }

    #[test]
    fn an_address_holds_at_most_its_cap_and_gets_places_back_as_they_leave() {
        let mut ledger = JoinLedger::new(3);
        let flood = key("203.0.113.7");
        let pupil = key("198.51.100.1");
        for seq in 10..13 {
            assert!(ledger.may_join(flood));
            ledger.joined(seq, flood);
        }
        assert!(!ledger.may_join(flood));
        assert!(ledger.may_join(pupil));
        ledger.joined(13, pupil);
        ledger.left(11);
        ledger.left(11); // a replayed admission: counted once
        assert_eq!(ledger.held(flood), 2);
        assert!(ledger.may_join(flood));
        ledger.left(10);
        ledger.left(12);
        ledger.left(13);
        assert_eq!((ledger.held(flood), ledger.addresses()), (0, 0));
        assert!(ledger.holders.is_empty(), "the front is forgotten once nobody holds it");
    }

    #[test]
    fn numbers_it_never_saw_are_ignored() {
        let mut ledger = JoinLedger::new(3);
        let one = key("203.0.113.7");
        ledger.joined(100, one);
        ledger.left(5); // a restored ticket's number, below every joined one
        ledger.left(1_000); // not issued yet
        ledger.joined(100, one); // the same number again
        assert_eq!(ledger.held(one), 1);
        // Gaps (numbers taken by in-process clients) are held by nobody.
        ledger.joined(105, one);
        ledger.left(100);
        assert_eq!(ledger.held(one), 1);
        assert_eq!(ledger.first, 105);
    }
}
