//! The single-primary rule (RFC 7643 §2.4): after all operations, at most one
//! `primary: true` per multi-valued attribute, chosen by [`PrimaryRule`].

use serde_json::Value;

use super::target::Target;
use super::{element_key, is_primary, Run};
use crate::journal::{get, Object};
use crate::select::FxMap;
use crate::PrimaryRule;

impl Run<'_, '_> {
    pub(super) fn note_primaries(&mut self, target: &Target<'_>, written: &[Value]) {
        if !self.primaries.iter().any(|e| e.0 == target.slot) {
            return;
        }
        let keys: Vec<String> = written
            .iter()
            .filter(|v| is_primary(v))
            .map(element_key)
            .collect();
        if keys.is_empty() {
            return;
        }
        if let Some(entry) = self.primaries.iter_mut().find(|e| e.0 == target.slot) {
            entry.3.extend(keys);
        }
    }

    /// After all operations: at most one `primary: true` per multi-valued attribute.
    pub(super) fn enforce_single_primary(&mut self, map: &mut Object) {
        let rule = self.p.options.primary;
        for (slot, _display, old_primary, written) in std::mem::take(&mut self.primaries) {
            let Some(Value::Array(items)) = get(map, &slot) else {
                continue;
            };
            let primaries: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, v)| is_primary(v))
                .map(|(i, _)| i)
                .collect();
            if primaries.len() < 2 {
                continue;
            }
            let keys: Vec<String> = primaries.iter().map(|&i| element_key(&items[i])).collect();
            // The last position of each key: one lookup per written key, not a scan.
            let mut last: FxMap<&str, usize> =
                FxMap::with_capacity_and_hasher(keys.len(), Default::default());
            for (j, k) in keys.iter().enumerate() {
                last.insert(k, j);
            }
            let by_request = written
                .iter()
                .rev()
                .find_map(|w| last.get(w.as_str()).copied());
            let existing = old_primary
                .as_ref()
                .and_then(|o| keys.iter().position(|k| k == o));
            let winner = match rule {
                PrimaryRule::RequestWins => by_request.or(existing),
                PrimaryRule::KeepExisting => existing.or(by_request),
            }
            .unwrap_or(keys.len() - 1);
            let losers: Vec<(usize, Value)> = primaries
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != winner)
                .map(|(_, &idx)| {
                    let mut e = items[idx].clone();
                    if let Value::Object(o) = &mut e {
                        o.insert("primary".to_owned(), Value::Bool(false));
                    }
                    (idx, e)
                })
                .collect();
            for (idx, e) in losers {
                self.journal.set_element(map, &slot, idx, e);
            }
        }
    }
}
