//! What a run reports: a delta entry per attribute on first touch (with the primary it had),
//! removed values held by the journal until the end, and the outcome assembled from them.

use serde_json::Value;

use super::target::Target;
use super::{element_key, is_primary, present, Run};
use crate::journal::{get, Displaced, Object};
use crate::outcome::{ChangeKind, Delta, PatchOutcome};

impl Run<'_, '_> {
    /// The delta entry for `target`, created on first touch.
    pub(super) fn touch(&mut self, map: &Object, target: &Target<'_>) -> usize {
        match self
            .delta
            .changes
            .iter()
            .position(|c| c.path == target.display)
        {
            Some(i) => i,
            None => {
                self.delta.entry(&target.display);
                let current = get(map, &target.slot);
                self.had_before
                    .push((target.slot.clone(), present(current)));
                // The single-primary rule needs the old primary; attributes whose schema
                // has no `primary` (group members) skip the scan.
                let has_primary = target
                    .def
                    .is_none_or(|d| d.sub_attribute("primary").is_some());
                if has_primary {
                    let old = match current {
                        Some(Value::Array(items)) => {
                            items.iter().find(|v| is_primary(v)).map(element_key)
                        }
                        _ => None,
                    };
                    self.primaries.push((
                        target.slot.clone(),
                        target.display.clone(),
                        old,
                        Vec::new(),
                    ));
                }
                self.delta.changes.len() - 1
            }
        }
    }

    /// Reports the values the journal entry `d` holds as removed from delta entry `entry`.
    pub(super) fn note_removed(&mut self, entry: usize, d: Displaced) {
        let at = self.delta.changes[entry].removed.len();
        self.displaced.push((entry, at, d));
    }

    pub(super) fn finish(mut self, map: &Object) -> PatchOutcome {
        let changed = !self.journal.is_empty();
        let kept: Vec<bool> = self
            .had_before
            .iter()
            .map(|(slot, _)| self.journal.changed(slot))
            .collect();
        // Nothing can fail now: the removed values move from the journal to the delta,
        // latest first so that earlier positions stay valid.
        let tokens: Vec<Displaced> = self.displaced.iter().map(|&(_, _, d)| d).collect();
        let values = self.journal.into_displaced(&tokens);
        for (&(entry, at, _), values) in self.displaced.iter().zip(values).rev() {
            let removed = &mut self.delta.changes[entry].removed;
            removed.splice(at..at, values);
        }
        // One entry per attribute that changed (not merely addressed), with its overall kind.
        let changes = self
            .delta
            .changes
            .into_iter()
            .zip(self.had_before)
            .zip(kept)
            .filter_map(|(c, kept)| kept.then_some(c))
            .map(|(mut change, (slot, had))| {
                change.kind = match (had, present(get(map, &slot))) {
                    (false, true) => ChangeKind::Added,
                    (true, false) => ChangeKind::Removed,
                    _ => ChangeKind::Modified,
                };
                change
            })
            .collect();
        PatchOutcome {
            changed,
            delta: Delta { changes },
            normalizations: self.normalizations,
        }
    }
}
