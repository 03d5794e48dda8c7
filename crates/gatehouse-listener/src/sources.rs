//! Connections open per source, with memory bounded by the connections open: a
//! source has an entry only while it has a connection, so the map never holds more
//! entries than the global cap allows connections.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

/// Counts connections per source and refuses one over the per-source cap.
#[derive(Debug, Clone)]
pub(crate) struct SourceCounter {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    limit: usize,
}

/// One connection's place in its source's count, given back when dropped.
#[derive(Debug)]
pub(crate) struct SourceSlot {
    source: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl SourceCounter {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            open: Arc::default(),
            limit: limit.max(1),
        }
    }

    /// A slot for one more connection from `peer`, or `None` if its source is at
    /// the cap.
    pub(crate) fn try_acquire(&self, peer: IpAddr) -> Option<SourceSlot> {
        let source = source_of(peer);
        // A panic elsewhere while holding the lock cannot leave a count half-updated.
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(source).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(SourceSlot {
            source,
            open: self.open.clone(),
        })
    }

    #[cfg(test)]
    fn sources(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.source) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.source);
            }
        }
    }
}

/// The source a peer counts against: its IPv4 address (also when written as an
/// IPv4-mapped IPv6 address), or the /64 of an IPv6 address, since one subscriber
/// is usually handed a whole /64.
pub fn source_of(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_source_is_capped_and_others_are_not() {
        let counter = SourceCounter::new(2);
        let a1 = counter.try_acquire(ip("10.0.0.1")).unwrap();
        let _a2 = counter.try_acquire(ip("10.0.0.1")).unwrap();
        assert!(counter.try_acquire(ip("10.0.0.1")).is_none());
        assert!(counter.try_acquire(ip("10.0.0.2")).is_some());
        drop(a1);
        assert!(counter.try_acquire(ip("10.0.0.1")).is_some());
    }

    #[test]
    fn entries_live_only_while_connections_are_open() {
        let counter = SourceCounter::new(3);
        let slots: Vec<_> = (0..50)
            .filter_map(|i| counter.try_acquire(ip(&format!("10.0.{i}.1"))))
            .collect();
        assert_eq!(counter.sources(), 50);
        // A refused connection leaves nothing behind either.
        let full = [(); 3].map(|_| counter.try_acquire(ip("10.9.9.9")).unwrap());
        assert!(counter.try_acquire(ip("10.9.9.9")).is_none());
        assert_eq!(counter.sources(), 51);
        drop(slots);
        drop(full);
        assert_eq!(counter.sources(), 0);
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let counter = SourceCounter::new(1);
        let _a = counter.try_acquire(ip("2001:db8:1:2::1")).unwrap();
        assert!(counter.try_acquire(ip("2001:db8:1:2:ffff::9")).is_none());
        assert!(counter.try_acquire(ip("2001:db8:1:3::1")).is_some());
        let _v4 = counter.try_acquire(ip("192.0.2.7")).unwrap();
        assert!(counter.try_acquire(ip("::ffff:192.0.2.7")).is_none());
    }

    #[test]
    fn a_zero_cap_still_admits_one() {
        let counter = SourceCounter::new(0);
        assert!(counter.try_acquire(ip("10.0.0.1")).is_some());
    }
}
