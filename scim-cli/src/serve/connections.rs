//! The registry of open connections: what each is doing (a request in flight, or waiting
//! for a request head, or idle), when each must be closed, and which one to shed when a
//! newcomer arrives at the cap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a connection with no request in flight is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// The rest of a request head (a new connection, or bytes arrived after an idle spell).
    Head,
    /// Nothing: the last response is sent and no byte of the next request has come.
    Idle,
}

#[derive(Debug)]
struct SlotState {
    in_flight: usize,
    waiting: Waiting,
    since: Instant,
}

/// One open connection's entry.
#[derive(Debug)]
pub(crate) struct Slot {
    id: u64,
    state: Mutex<SlotState>,
    /// Woken when the connection must close at once (shed for a newcomer).
    pub(crate) shed: Notify,
    /// Woken when the state changes (so the watchdog recomputes its deadline).
    pub(crate) changed: Notify,
}

impl Slot {
    fn new(id: u64, now: Instant) -> Slot {
        Slot {
            id,
            state: Mutex::new(SlotState {
                in_flight: 0,
                waiting: Waiting::Head,
                since: now,
            }),
            shed: Notify::new(),
            changed: Notify::new(),
        }
    }

    /// A request head was parsed and handed to the service; the guard ends it.
    pub(crate) fn begin_request(self: &Arc<Self>) -> InFlight {
        lock(&self.state).in_flight += 1;
        self.changed.notify_one();
        InFlight(Arc::clone(self))
    }

    fn end_request(&self) {
        let mut s = lock(&self.state);
        s.in_flight = s.in_flight.saturating_sub(1);
        if s.in_flight == 0 {
            s.waiting = Waiting::Idle;
            s.since = Instant::now();
        }
        drop(s);
        self.changed.notify_one();
    }

    /// Bytes arrived. Returns whether they start a new request head (the connection was
    /// idle), and whether a request is in flight (they are body bytes or pipelined).
    pub(crate) fn on_bytes(&self) -> BytesSeen {
        let mut s = lock(&self.state);
        if s.in_flight > 0 {
            return BytesSeen::InFlight;
        }
        if s.waiting == Waiting::Idle {
            s.waiting = Waiting::Head;
            s.since = Instant::now();
            drop(s);
            self.changed.notify_one();
            return BytesSeen::NewHead;
        }
        BytesSeen::MoreHead
    }

    /// When this connection must be closed, if nothing happens before: `header_timeout`
    /// after it began waiting for a head, `idle_timeout` after it went idle, never while a
    /// request is in flight (the handler bounds the body read itself).
    pub(crate) fn deadline(
        &self,
        header_timeout: Duration,
        idle_timeout: Duration,
    ) -> Option<Instant> {
        let s = lock(&self.state);
        if s.in_flight > 0 {
            return None;
        }
        Some(match s.waiting {
            Waiting::Head => s.since + header_timeout,
            Waiting::Idle => s.since + idle_timeout,
        })
    }

    /// Whether a request is in flight.
    pub(crate) fn in_flight(&self) -> bool {
        lock(&self.state).in_flight > 0
    }

    /// Since when it has had no request in flight, if it has none.
    fn waiting_since(&self) -> Option<Instant> {
        let s = lock(&self.state);
        (s.in_flight == 0).then_some(s.since)
    }
}

/// What newly read bytes are, for the connection's reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BytesSeen {
    /// The first bytes of a request head after an idle spell.
    NewHead,
    /// More of the head being waited for.
    MoreHead,
    /// A request is in flight.
    InFlight,
}

/// Marks a request in flight until dropped (it travels with the response body, so the
/// request counts until its response is written).
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Slot>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end_request();
    }
}

/// What [`Registry::admit`] decided.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Serve it; `shed` tells whether an older waiting connection was closed to make room.
    Admitted { slot: Arc<Slot>, shed: bool },
    /// At the cap with every connection busy.
    Full,
}

#[derive(Debug, Default)]
struct Slots {
    next_id: u64,
    open: HashMap<u64, Arc<Slot>>,
}

/// All open connections, at most `cap`.
#[derive(Debug)]
pub(crate) struct Registry {
    cap: usize,
    slots: Mutex<Slots>,
}

impl Registry {
    /// An empty registry admitting at most `cap` connections (at least one).
    pub(crate) fn new(cap: usize) -> Registry {
        Registry {
            cap: cap.max(1),
            slots: Mutex::new(Slots::default()),
        }
    }

    /// Admits a new connection. At the cap, the connection that has waited longest with no
    /// request in flight (idle, or still sending a head) is shed to make room, so a slow
    /// or silent client cannot starve a newcomer; if all are busy, the newcomer is refused.
    pub(crate) fn admit(&self) -> Admission {
        let mut slots = lock(&self.slots);
        let mut shed = false;
        if slots.open.len() >= self.cap {
            let victim = slots
                .open
                .values()
                .filter_map(|s| s.waiting_since().map(|t| (t, s.id)))
                .min()
                .map(|(_, id)| id);
            match victim.and_then(|id| slots.open.remove(&id)) {
                Some(v) => {
                    v.shed.notify_one();
                    shed = true;
                }
                None => return Admission::Full,
            }
        }
        let id = slots.next_id;
        slots.next_id += 1;
        let slot = Arc::new(Slot::new(id, Instant::now()));
        slots.open.insert(id, Arc::clone(&slot));
        Admission::Admitted { slot, shed }
    }

    /// Forgets a closed connection (no-op if it was shed).
    pub(crate) fn remove(&self, slot: &Slot) {
        lock(&self.slots).open.remove(&slot.id);
    }

    /// How many are open.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        lock(&self.slots).open.len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]

    use super::*;

    fn admitted(a: Admission) -> (Arc<Slot>, bool) {
        match a {
            Admission::Admitted { slot, shed } => (slot, shed),
            Admission::Full => panic!("refused"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn sheds_the_longest_waiting_and_refuses_when_all_are_busy() {
        let r = Registry::new(2);
        let (a, _) = admitted(r.admit());
        tokio::time::advance(Duration::from_millis(10)).await;
        let (b, _) = admitted(r.admit());
        // At the cap: `a` has waited longest, so it goes.
        let (c, shed) = admitted(r.admit());
        assert!(shed);
        assert_eq!(r.len(), 2);
        assert!(
            tokio::time::timeout(Duration::from_millis(1), a.shed.notified())
                .await
                .is_ok()
        );
        // With both remaining busy, a newcomer is refused.
        let _gb = b.begin_request();
        let gc = c.begin_request();
        assert!(matches!(r.admit(), Admission::Full));
        // Once one is done, it is the one shed.
        drop(gc);
        let (_d, shed) = admitted(r.admit());
        assert!(shed);
        assert!(
            tokio::time::timeout(Duration::from_millis(1), c.shed.notified())
                .await
                .is_ok()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_follow_the_state() {
        let (h, i) = (Duration::from_secs(1), Duration::from_secs(5));
        let r = Registry::new(4);
        let (s, _) = admitted(r.admit());
        let t0 = Instant::now();
        assert_eq!(s.deadline(h, i), Some(t0 + h));
        assert_eq!(s.on_bytes(), BytesSeen::MoreHead);
        let g = s.begin_request();
        assert_eq!(s.deadline(h, i), None);
        assert_eq!(s.on_bytes(), BytesSeen::InFlight);
        tokio::time::advance(Duration::from_secs(2)).await;
        drop(g);
        let t1 = Instant::now();
        assert_eq!(s.deadline(h, i), Some(t1 + i));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(s.on_bytes(), BytesSeen::NewHead);
        assert_eq!(s.deadline(h, i), Some(Instant::now() + h));
        r.remove(&s);
        assert_eq!(r.len(), 0);
    }
}
