//! The undo journal that makes a PATCH atomic without copying the resource: every change
//! records how to take it back, holding the values it displaced (moved, not cloned, where
//! they are large), and a failed request replays the journal backwards.

use serde_json::{Map, Value};

pub(crate) type Object = Map<String, Value>;

/// Where an attribute is: inside an extension object or at the top level, under its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) ext: Option<String>,
    pub(crate) key: String,
}

enum Undo {
    /// The attribute held `old` (or nothing).
    Attr { slot: Slot, old: Option<Value> },
    /// The extension object did not exist.
    ExtCreated { ext: String },
    /// Elements were appended after `len`.
    Truncate { slot: Slot, len: usize },
    /// Elements were removed from these (ascending, original) indices.
    Reinsert {
        slot: Slot,
        removed: Vec<(usize, Value)>,
    },
    /// One element held `old`.
    Elem {
        slot: Slot,
        index: usize,
        old: Value,
    },
}

#[derive(Default)]
pub(crate) struct Journal {
    entries: Vec<Undo>,
}

/// A journal entry that holds values a change took out of the resource (removed elements,
/// a replaced array): the delta reports them, and takes them from the journal once the
/// request has succeeded instead of cloning them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Displaced(usize);

pub(crate) fn container<'a>(map: &'a Object, ext: Option<&str>) -> Option<&'a Object> {
    match ext {
        None => Some(map),
        Some(ext) => map.get(ext).and_then(Value::as_object),
    }
}

fn container_mut<'a>(map: &'a mut Object, ext: Option<&str>) -> Option<&'a mut Object> {
    match ext {
        None => Some(map),
        Some(ext) => map.get_mut(ext).and_then(Value::as_object_mut),
    }
}

pub(crate) fn get<'a>(map: &'a Object, slot: &Slot) -> Option<&'a Value> {
    container(map, slot.ext.as_deref())?.get(&slot.key)
}

impl Journal {
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry the last [`Journal::set`] that returned `true` made: the value it displaced.
    pub(crate) fn last_displaced(&self) -> Displaced {
        Displaced(self.entries.len().saturating_sub(1))
    }

    /// Ends a successful request: the elements each token's change displaced (the removed
    /// elements, or the items of an array that was replaced or removed), moved out of the
    /// journal, which cannot undo those changes any more.
    pub(crate) fn into_displaced(mut self, tokens: &[Displaced]) -> Vec<Vec<Value>> {
        tokens
            .iter()
            .map(|d| match self.entries.get_mut(d.0) {
                Some(Undo::Reinsert { removed, .. }) => std::mem::take(removed)
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect(),
                Some(Undo::Attr {
                    old: Some(Value::Array(items)),
                    ..
                }) => std::mem::take(items),
                _ => Vec::new(),
            })
            .collect()
    }

    /// Whether any change was made to the attribute in `slot`.
    pub(crate) fn changed(&self, slot: &Slot) -> bool {
        self.entries.iter().any(|u| match u {
            Undo::Attr { slot: s, .. }
            | Undo::Truncate { slot: s, .. }
            | Undo::Reinsert { slot: s, .. }
            | Undo::Elem { slot: s, .. } => s == slot,
            Undo::ExtCreated { .. } => false,
        })
    }

    /// The object the slot lives in, creating the extension object when needed.
    fn object<'a>(&mut self, map: &'a mut Object, ext: Option<&str>) -> Option<&'a mut Object> {
        match ext {
            None => Some(map),
            Some(ext) => {
                if !matches!(map.get(ext), Some(Value::Object(_))) {
                    let old = map.insert(ext.to_owned(), Value::Object(Object::new()));
                    self.entries.push(match old {
                        None => Undo::ExtCreated {
                            ext: ext.to_owned(),
                        },
                        Some(old) => Undo::Attr {
                            slot: Slot {
                                ext: None,
                                key: ext.to_owned(),
                            },
                            old: Some(old),
                        },
                    });
                }
                map.get_mut(ext).and_then(Value::as_object_mut)
            }
        }
    }

    /// Sets (or, with `None`, removes) an attribute. Returns whether anything changed.
    pub(crate) fn set(&mut self, map: &mut Object, slot: &Slot, value: Option<Value>) -> bool {
        if get(map, slot) == value.as_ref() {
            return false;
        }
        let old = match value {
            Some(v) => match self.object(map, slot.ext.as_deref()) {
                Some(obj) => obj.insert(slot.key.clone(), v),
                None => return false,
            },
            None => container_mut(map, slot.ext.as_deref()).and_then(|o| o.remove(&slot.key)),
        };
        self.entries.push(Undo::Attr {
            slot: slot.clone(),
            old,
        });
        true
    }

    /// Appends copies of `elements` to an array attribute (creating it). The array grows
    /// first and the copies are made in place: they can reuse the memory of the array's old
    /// buffer, and no intermediate vector is built.
    pub(crate) fn append(&mut self, map: &mut Object, slot: &Slot, elements: &[Value]) {
        if elements.is_empty() {
            return;
        }
        let Some(obj) = self.object(map, slot.ext.as_deref()) else {
            return;
        };
        match obj.get_mut(&slot.key) {
            Some(Value::Array(items)) => {
                self.entries.push(Undo::Truncate {
                    slot: slot.clone(),
                    len: items.len(),
                });
                items.extend_from_slice(elements);
            }
            _ => {
                let old = obj.insert(slot.key.clone(), Value::Array(elements.to_vec()));
                self.entries.push(Undo::Attr {
                    slot: slot.clone(),
                    old,
                });
            }
        }
    }

    /// Removes the elements at `indices` (ascending); the journal keeps them (see
    /// [`Journal::into_displaced`]). `None` when nothing was removed.
    pub(crate) fn remove_elements(
        &mut self,
        map: &mut Object,
        slot: &Slot,
        indices: &[usize],
    ) -> Option<Displaced> {
        let Some(Value::Array(items)) =
            container_mut(map, slot.ext.as_deref()).and_then(|o| o.get_mut(&slot.key))
        else {
            return None;
        };
        // Compact in place from the first removed index: earlier values do not move and the
        // array keeps its capacity (a later append does not reallocate).
        let &first = indices.first()?;
        let mut removed = Vec::with_capacity(indices.len());
        let mut next = indices.iter().peekable();
        let mut write = first;
        for read in first..items.len() {
            if next.peek() == Some(&&read) {
                next.next();
                removed.push((read, std::mem::take(&mut items[read])));
            } else {
                items.swap(write, read);
                write += 1;
            }
        }
        items.truncate(write);
        self.entries.push(Undo::Reinsert {
            slot: slot.clone(),
            removed,
        });
        Some(Displaced(self.entries.len() - 1))
    }

    /// Replaces one element; returns whether it changed.
    pub(crate) fn set_element(
        &mut self,
        map: &mut Object,
        slot: &Slot,
        index: usize,
        value: Value,
    ) -> bool {
        let Some(Value::Array(items)) =
            container_mut(map, slot.ext.as_deref()).and_then(|o| o.get_mut(&slot.key))
        else {
            return false;
        };
        let Some(item) = items.get_mut(index) else {
            return false;
        };
        if *item == value {
            return false;
        }
        let old = std::mem::replace(item, value);
        self.entries.push(Undo::Elem {
            slot: slot.clone(),
            index,
            old,
        });
        true
    }

    /// Takes back every change, newest first.
    pub(crate) fn rollback(self, map: &mut Object) {
        for undo in self.entries.into_iter().rev() {
            match undo {
                Undo::Attr { slot, old } => {
                    if let Some(obj) = container_mut(map, slot.ext.as_deref()) {
                        match old {
                            Some(v) => {
                                obj.insert(slot.key, v);
                            }
                            None => {
                                obj.remove(&slot.key);
                            }
                        }
                    }
                }
                Undo::ExtCreated { ext } => {
                    map.remove(&ext);
                }
                Undo::Truncate { slot, len } => {
                    if let Some(Value::Array(items)) =
                        container_mut(map, slot.ext.as_deref()).and_then(|o| o.get_mut(&slot.key))
                    {
                        items.truncate(len);
                    }
                }
                Undo::Reinsert { slot, removed } => {
                    if let Some(Value::Array(items)) =
                        container_mut(map, slot.ext.as_deref()).and_then(|o| o.get_mut(&slot.key))
                    {
                        let kept = std::mem::take(items);
                        let mut merged = Vec::with_capacity(kept.len() + removed.len());
                        let mut removed = removed.into_iter().peekable();
                        let mut kept = kept.into_iter();
                        loop {
                            if removed.peek().is_some_and(|(i, _)| *i == merged.len()) {
                                if let Some((_, v)) = removed.next() {
                                    merged.push(v);
                                }
                            } else if let Some(v) = kept.next() {
                                merged.push(v);
                            } else if let Some((_, v)) = removed.next() {
                                merged.push(v);
                            } else {
                                break;
                            }
                        }
                        *items = merged;
                    }
                }
                Undo::Elem { slot, index, old } => {
                    if let Some(Value::Array(items)) =
                        container_mut(map, slot.ext.as_deref()).and_then(|o| o.get_mut(&slot.key))
                    {
                        if let Some(item) = items.get_mut(index) {
                            *item = old;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_change_rolls_back() {
        let original = json!({"a": [0, 1, 2, 3, 4, 5, 6], "b": "x", "urn:e": {"c": 1}});
        let Value::Object(mut map) = original.clone() else {
            unreachable!()
        };
        let a = Slot {
            ext: None,
            key: "a".into(),
        };
        let mut j = Journal::default();
        let removed = j.remove_elements(&mut map, &a, &[0, 2, 6]);
        assert!(removed.is_some());
        assert_eq!(map["a"], json!([1, 3, 4, 5]));
        j.append(&mut map, &a, &[json!(7)]);
        assert!(j.set_element(&mut map, &a, 1, json!(33)));
        assert!(j.set(
            &mut map,
            &Slot {
                ext: None,
                key: "b".into()
            },
            None
        ));
        assert!(j.set(
            &mut map,
            &Slot {
                ext: Some("urn:e".into()),
                key: "d".into()
            },
            Some(json!(2))
        ));
        assert!(j.set(
            &mut map,
            &Slot {
                ext: Some("urn:new".into()),
                key: "e".into()
            },
            Some(json!(3))
        ));
        assert!(!j.set(
            &mut map,
            &Slot {
                ext: Some("urn:e".into()),
                key: "c".into()
            },
            Some(json!(1))
        ));
        assert_eq!(
            Value::Object(map.clone()),
            json!({"a": [1, 33, 4, 5, 7], "urn:e": {"c": 1, "d": 2}, "urn:new": {"e": 3}})
        );
        assert!(j.changed(&a));
        j.rollback(&mut map);
        assert_eq!(Value::Object(map), original);
    }

    #[test]
    fn displaced_values_move_out_on_success() {
        let Value::Object(mut map) = json!({"a": [0, 1, 2, 3], "b": [4, 5]}) else {
            unreachable!()
        };
        let slot = |k: &str| Slot {
            ext: None,
            key: k.into(),
        };
        let mut j = Journal::default();
        let removed = j.remove_elements(&mut map, &slot("a"), &[1, 3]);
        assert!(j.set(&mut map, &slot("b"), Some(json!([6]))));
        let replaced = j.last_displaced();
        assert!(j.remove_elements(&mut map, &slot("a"), &[]).is_none());
        let tokens = [removed.unwrap_or(replaced), replaced];
        assert_eq!(
            j.into_displaced(&tokens),
            vec![vec![json!(1), json!(3)], vec![json!(4), json!(5)]]
        );
        assert_eq!(Value::Object(map), json!({"a": [0, 2], "b": [6]}));
    }
}
