//! PATCH of a few elements of a large multi-valued attribute, on the stored text: a user
//! with 25,000 emails one of which a request changes (`replace emails[value eq "x"].value`).
//!
//! The engine reads the resource's text ([`Store::get_text`]) and parses only what the
//! request can touch: the other top-level attributes, the elements its value filters may
//! select (those whose text holds a string the filter compares with), and the elements
//! that hold a `true` (the single-primary rule reads the primary one). The patcher runs on
//! that smaller resource as it would on the whole; every other element is copied as text
//! into the new document, which the store writes as a [`ResourceEdit`]. A request this
//! cannot keep to those elements (one that adds or removes elements, whose filter no
//! string narrows, or that fails) takes the whole-resource path, which answers it as
//! before.
//!
//! Debug builds patch the whole resource too and check that both give the same document.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use memchr::memmem::Finder;
use scim_filter::{CompValue, CompareOp, Filter, PatchPath};
use scim_patch::{PatchRequest, Patcher};
use scim_schema::{AttrType, Attribute, ResourceTypeRef, Uniqueness};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::groups::is_group;
use super::sealing::sealed_view;
use super::text_response::Key;
use super::{Engine, Result};
use crate::secret::holds_secret;
use crate::store::{ResourceEdit, StoredResource};
use crate::{Request, RequestContext, Response, ScimError, Store};

impl<S: Store> Engine<S> {
    /// The response, when `request` changes only elements of a multi-valued attribute of
    /// at least [`Config::min_values_patched_in_text`](crate::Config::min_values_patched_in_text)
    /// values that its value filters select; else the resource as read, if it was, for the
    /// whole-resource path (which then need not read it again).
    pub(super) async fn patch_in_text(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        id: &str,
        req: &Request,
        patcher: &Patcher<'_>,
        request: &PatchRequest,
    ) -> Result<TextPatch> {
        if is_group(rt) || !self.store.applies_edits() {
            return Ok(TextPatch::Whole(None));
        }
        let Some((attr, needles)) = element_target(rt, request) else {
            return Ok(TextPatch::Whole(None));
        };
        let finders: Vec<Finder<'_>> = needles.iter().map(Finder::new).collect();
        let rt_name = &rt.definition().name;
        let mut attempt = 0;
        loop {
            let Some((current, _)) = self.store.get_text(&ctx.tenant, rt_name, id, None).await?
            else {
                return Err(ScimError::not_found(format!("Resource {id} not found")));
            };
            let Some(text) = current.text.clone() else {
                return Ok(TextPatch::Whole(Some(current)));
            };
            Self::check_if_match(req, &current)?;
            let Some(parts) = Parts::of(
                &text,
                &attr.name,
                self.config.min_values_patched_in_text,
                &finders,
            ) else {
                return Ok(TextPatch::Whole(Some(current)));
            };
            let Parts {
                key,
                elements,
                positions,
                mut resource,
            } = parts;
            let previous = sealed_view(rt, &resource);
            let before = self.value_counts(rt, &resource);
            // An error is answered by the whole-resource path, as it always was.
            let Ok(outcome) = patcher.apply(&mut resource, request) else {
                return Ok(TextPatch::Whole(Some(current)));
            };
            if !same_shape(&resource, &key, positions.len()) {
                return Ok(TextPatch::Whole(Some(current)));
            }
            self.check_value_counts(rt, &before, &resource)?;
            if !outcome.changed {
                return Ok(TextPatch::Answered(
                    self.patched(ctx, rt, current, req).await?,
                ));
            }
            self.stamp(ctx, rt, &mut resource, Some(&previous));
            #[cfg(debug_assertions)]
            {
                let fast = written(&resource, &key, &elements, &positions).map(|(text, _)| text);
                let whole = self.patch_whole(ctx, rt, &text, patcher, request);
                debug_assert!(
                    fast.is_some() && fast == whole,
                    "patched on the text: {fast:?}, whole: {whole:?}"
                );
            }
            let unique = self.seal(rt, &mut resource, Some(&previous))?;
            let Some(edit) = edit_of(resource, key, &elements, &positions) else {
                return Ok(TextPatch::Whole(Some(current)));
            };
            drop(elements);
            let written = self
                .store
                .replace_edited(&ctx.tenant, rt_name, id, current.version, edit, unique)
                .await;
            let stored = match written {
                Ok(stored) => stored,
                Err(e) => {
                    self.retry_patch(req, id, &mut attempt, e)?;
                    continue;
                }
            };
            return Ok(TextPatch::Answered(
                self.patched(ctx, rt, stored, req).await?,
            ));
        }
    }

    /// The document `text` patched whole and stamped, as the whole-resource path writes it
    /// (before sealing, whose hashes are salted at random).
    #[cfg(debug_assertions)]
    fn patch_whole(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        text: &str,
        patcher: &Patcher<'_>,
        request: &PatchRequest,
    ) -> Option<String> {
        let mut whole: Value = serde_json::from_str(text).ok()?;
        let previous = sealed_view(rt, &whole);
        patcher.apply(&mut whole, request).ok()?;
        self.stamp(ctx, rt, &mut whole, Some(&previous));
        serde_json::to_string(&whole).ok()
    }
}

/// What [`Engine::patch_in_text`] did.
pub(super) enum TextPatch {
    /// Answered the request.
    Answered(Response),
    /// Left it to the whole-resource path, with the resource as read (if it was).
    Whole(Option<StoredResource>),
}

/// A stored document split for a PATCH of some elements of one attribute.
struct Parts<'t> {
    /// The attribute's key, as the document spells it.
    key: String,
    /// All its elements, as text.
    elements: Vec<&'t RawValue>,
    /// The positions of the elements parsed.
    positions: Vec<usize>,
    /// Every other top-level member, and under `key` the elements parsed, in order.
    resource: Value,
}

impl<'t> Parts<'t> {
    /// `text` split for a PATCH of the attribute `name`, with the elements `finders` may
    /// select parsed; `None` when the attribute has fewer than `min` elements, none of
    /// them may be selected, or the text is not a document with its keys in order.
    fn of(text: &'t str, name: &str, min: usize, finders: &[Finder<'_>]) -> Option<Parts<'t>> {
        let mut de = serde_json::Deserializer::from_str(text);
        let Split {
            head: members,
            attribute,
            in_order,
        } = SplitSeed { name }.deserialize(&mut de).ok()?;
        de.end().ok()?;
        // In order, no key twice: the text is what serialising the document writes.
        let (key, elements) = attribute.filter(|_| in_order)?;
        if elements.len() < min {
            return None;
        }
        let selected = selection(text, &elements, finders);
        let mut head = Map::new();
        for (k, raw) in members {
            head.insert(k.into_owned(), serde_json::from_str(raw.get()).ok()?);
        }
        let mut positions = Vec::new();
        let mut parsed = Vec::new();
        for (i, element) in elements.iter().enumerate() {
            if selected[i] {
                positions.push(i);
                parsed.push(serde_json::from_str::<Value>(element.get()).ok()?);
            }
        }
        if positions.is_empty() {
            return None;
        }
        head.insert(key.to_string(), Value::Array(parsed));
        Some(Parts {
            key: key.into_owned(),
            elements,
            positions,
            resource: Value::Object(head),
        })
    }
}

/// Which of `elements` (slices of `text`) may be selected by a filter that compares with
/// the strings `finders` look for, or hold a `true`: those that hold one of them, ASCII
/// case folded, or an escape or a non-ASCII character (whose folding or unescaping a byte
/// search cannot follow). One search over the elements' text, not one per element.
fn selection(text: &str, elements: &[&RawValue], finders: &[Finder<'_>]) -> Vec<bool> {
    let mut selected = vec![false; elements.len()];
    let offset = |e: &RawValue| (e.get().as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
    let (Some(first), Some(last)) = (elements.first(), elements.last()) else {
        return selected;
    };
    let start = offset(first);
    let Some(span) = text
        .as_bytes()
        .get(start..offset(last).saturating_add(last.get().len()))
    else {
        return vec![true; elements.len()];
    };
    let starts: Vec<usize> = elements
        .iter()
        .map(|e| offset(e).saturating_sub(start))
        .collect();
    let mut mark = |at: usize| {
        let i = starts.partition_point(|&s| s <= at);
        if let Some(slot) = i.checked_sub(1).and_then(|i| selected.get_mut(i)) {
            *slot = true;
        }
    };
    for at in memchr::memchr_iter(b'\\', span) {
        mark(at);
    }
    if !span.is_ascii() {
        for (at, _) in span.iter().enumerate().filter(|(_, b)| !b.is_ascii()) {
            mark(at);
        }
    }
    let lowered = span.to_ascii_lowercase();
    for finder in finders {
        for at in finder.find_iter(&lowered) {
            mark(at);
        }
    }
    selected
}

/// A document's top-level members as text, the attribute `name`'s elements apart.
struct Split<'t> {
    /// Every other member, in order.
    head: Vec<(Cow<'t, str>, &'t RawValue)>,
    /// The attribute's key and its elements (when it is an array).
    attribute: Option<(Cow<'t, str>, Vec<&'t RawValue>)>,
    /// Whether the keys are in order, none twice (nor the attribute twice in any case).
    in_order: bool,
}

/// Reads a [`Split`] in one pass over the text.
struct SplitSeed<'n> {
    name: &'n str,
}

impl<'de> DeserializeSeed<'de> for SplitSeed<'_> {
    type Value = Split<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Split<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SplitSeed<'_> {
    type Value = Split<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Split<'de>, A::Error> {
        let mut split = Split {
            head: Vec::new(),
            attribute: None,
            in_order: true,
        };
        let mut previous: Option<Cow<'de, str>> = None;
        while let Some(Key(key)) = map.next_key()? {
            if previous.as_ref().is_some_and(|p| *p >= key) {
                split.in_order = false;
            }
            if key.eq_ignore_ascii_case(self.name) {
                if split.attribute.is_some() {
                    split.in_order = false;
                }
                let elements: Vec<&'de RawValue> = map.next_value()?;
                split.attribute = Some((key.clone(), elements));
            } else {
                let value: &'de RawValue = map.next_value()?;
                split.head.push((key.clone(), value));
            }
            previous = Some(key);
        }
        Ok(split)
    }
}

/// The attribute `request` patches by value filter, when that can be done on the text,
/// and the strings (ASCII lower-cased, with `true`) an element must hold to be selected
/// by one of its filters or to be primary.
///
/// That is: a multi-valued complex attribute of the core schema, holding no secret and no
/// unique value, which every operation that names it selects by a value filter that some
/// string comparison narrows (an `eq`, `co`, `sw` or `ew` with an ASCII string on a
/// string sub-attribute, in every branch of an `or`), and which no operation without a
/// path names.
fn element_target<'r>(
    rt: &ResourceTypeRef<'r>,
    request: &PatchRequest,
) -> Option<(&'r Attribute, Vec<Vec<u8>>)> {
    let core = rt.core_schema();
    let mut target: Option<&'r Attribute> = None;
    let mut needles = vec![b"true".to_vec()];
    for op in &request.operations {
        let Some(PatchPath {
            attr,
            value_filter: Some(filter),
            ..
        }) = &op.path
        else {
            continue;
        };
        if attr.sub_attr.is_some()
            || attr
                .urn
                .as_deref()
                .is_some_and(|u| !u.eq_ignore_ascii_case(&core.id))
        {
            return None;
        }
        let def = core.attribute(&attr.name)?;
        if target.is_some_and(|t| !t.name.eq_ignore_ascii_case(&def.name)) {
            return None;
        }
        target = Some(def);
        needles.extend(filter_needles(filter, def)?);
    }
    let def = target?;
    if !def.multi_valued
        || def.attr_type != AttrType::Complex
        || holds_secret(def)
        || def
            .sub_attributes
            .iter()
            .any(|s| s.uniqueness != Uniqueness::None)
    {
        return None;
    }
    for op in &request.operations {
        match &op.path {
            Some(path) if path.value_filter.is_some() => {}
            Some(path) => {
                if path.attr.name.eq_ignore_ascii_case(&def.name)
                    && path
                        .attr
                        .urn
                        .as_deref()
                        .is_none_or(|u| u.eq_ignore_ascii_case(&core.id))
                {
                    return None;
                }
            }
            // Attributes by name: none may be this one, under any spelling (qualified
            // keys other than an extension's are left to the whole path).
            None => match &op.value {
                Some(Value::Object(m))
                    if !m.keys().any(|k| {
                        k.eq_ignore_ascii_case(&def.name)
                            || (k.contains(':') && rt.extension(k).is_none())
                    }) => {}
                _ => return None,
            },
        }
    }
    Some((def, needles))
}

/// The strings (ASCII lower-cased) one of which an element's text holds when `filter`
/// selects it, or `None` when no string comparison narrows it.
fn filter_needles(filter: &Filter, def: &Attribute) -> Option<Vec<Vec<u8>>> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew,
            value: CompValue::String(s),
        } if path.urn.is_none()
            && path.sub_attr.is_none()
            && !s.is_empty()
            && s.is_ascii()
            && def
                .sub_attribute(&path.name)
                .is_some_and(|a| a.attr_type == AttrType::String) =>
        {
            Some(vec![s.to_ascii_lowercase().into_bytes()])
        }
        Filter::And(all) => all.iter().find_map(|f| filter_needles(f, def)),
        Filter::Or(any) => {
            let mut needles = Vec::new();
            for f in any {
                needles.extend(filter_needles(f, def)?);
            }
            Some(needles)
        }
        _ => None,
    }
}

/// Whether the patched `resource` still has `count` elements under `key`, and no other
/// spelling of it: each element parsed was changed in its place, none added or removed.
fn same_shape(resource: &Value, key: &str, count: usize) -> bool {
    let Value::Object(m) = resource else {
        return false;
    };
    matches!(m.get(key), Some(Value::Array(items)) if items.len() == count)
        && m.keys().filter(|k| k.eq_ignore_ascii_case(key)).count() == 1
}

/// The text of the patched document: `resource`'s members serialised, and under `key` the
/// elements as stored, the parsed ones (at `positions`) replaced by `resource`'s; with
/// where the array of `key` is in the text.
fn written(
    resource: &Value,
    key: &str,
    elements: &[&RawValue],
    positions: &[usize],
) -> Option<(String, Range<usize>)> {
    let Value::Object(m) = resource else {
        return None;
    };
    let Some(Value::Array(patched)) = m.get(key) else {
        return None;
    };
    let size: usize = elements.iter().map(|e| e.get().len() + 1).sum();
    let mut out = Vec::with_capacity(size + 1024);
    let mut range = 0..0;
    out.push(b'{');
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, k).ok()?;
        out.push(b':');
        if k != key {
            serde_json::to_writer(&mut out, v).ok()?;
            continue;
        }
        range.start = out.len();
        out.push(b'[');
        let mut changed = positions.iter().zip(patched).peekable();
        for (j, element) in elements.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            match changed.peek() {
                Some((&p, value)) if p == j => {
                    serde_json::to_writer(&mut out, value).ok()?;
                    changed.next();
                }
                _ => out.extend_from_slice(element.get().as_bytes()),
            }
        }
        out.push(b']');
        range.end = out.len();
    }
    out.push(b'}');
    Some((String::from_utf8(out).ok()?, range))
}

/// The [`ResourceEdit`] of the patched and sealed `resource`.
fn edit_of(
    resource: Value,
    key: String,
    elements: &[&RawValue],
    positions: &[usize],
) -> Option<ResourceEdit> {
    let (text, range) = written(&resource, &key, elements, positions)?;
    let Value::Object(mut head) = resource else {
        return None;
    };
    let Some(Value::Array(patched)) = head.remove(&key) else {
        return None;
    };
    Some(ResourceEdit {
        text,
        attribute: key,
        elements: positions.iter().copied().zip(patched).collect(),
        head,
        range,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_schema::Registry;
    use serde_json::json;

    fn request(ops: Value) -> PatchRequest {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": ops});
        PatchRequest::from_json(&body, &scim_patch::PatchOptions::default()).unwrap()
    }

    #[test]
    fn only_requests_kept_to_filtered_elements_are_patched_on_the_text() {
        let registry = Registry::standard();
        let users = registry.resource_type("User").unwrap();
        let target =
            |ops: Value| element_target(&users, &request(ops)).map(|(a, n)| (a.name.clone(), n));
        let (name, needles) = target(json!([{"op": "replace",
            "path": r#"emails[value eq "A@x" or type co "Wo"].value"#, "value": "b@x"}]))
        .unwrap();
        assert_eq!(name, "emails");
        assert_eq!(
            needles,
            vec![b"true".to_vec(), b"a@x".to_vec(), b"wo".to_vec()]
        );
        for ops in [
            // No string narrows these filters.
            json!([{"op": "replace", "path": r#"emails[value ne "a"].type"#, "value": "x"}]),
            json!([{"op": "replace", "path": r#"emails[value eq "é"].type"#, "value": "x"}]),
            json!([{"op": "replace", "path": r#"emails[primary eq true].type"#, "value": "x"}]),
            json!([{"op": "replace", "path": r#"emails[value eq "a" or primary eq true].type"#, "value": "x"}]),
            // The attribute itself, not by filter.
            json!([{"op": "add", "path": "emails", "value": [{"value": "a"}]},
                   {"op": "replace", "path": r#"emails[value eq "a"].type"#, "value": "x"}]),
            json!([{"op": "replace", "path": r#"emails[value eq "a"].type"#, "value": "x"},
                   {"op": "add", "value": {"Emails": [{"value": "b"}]}}]),
            json!([{"op": "replace", "path": r#"emails[value eq "a"].type"#, "value": "x"},
                   {"op": "add", "value": {"urn:ietf:params:scim:schemas:core:2.0:User:emails": []}}]),
            // Two attributes by filter; a single-valued one; one that holds a secret.
            json!([{"op": "replace", "path": r#"emails[value eq "a"].type"#, "value": "x"},
                   {"op": "replace", "path": r#"phoneNumbers[value eq "1"].type"#, "value": "x"}]),
            json!([{"op": "replace", "path": r#"name[givenName eq "a"].familyName"#, "value": "x"}]),
        ] {
            assert!(target(ops.clone()).is_none(), "{ops}");
        }
    }

    #[test]
    fn only_the_elements_a_filter_may_select_are_parsed() {
        let text = serde_json::to_string(&json!({"emails": [
            {"value": "a@x", "type": "work"},
            {"value": "B@X", "type": "home", "primary": true},
            {"value": "c@x", "type": "work"},
            {"value": "\u{e9}@x", "type": "work"},
            {"value": "d\"@x", "type": "work"},
            {"value": "e@x", "type": "home"},
        ], "userName": "u"}))
        .unwrap();
        let needles = [b"true".to_vec(), b"c@x".to_vec()];
        let finders: Vec<Finder<'_>> = needles.iter().map(Finder::new).collect();
        let parts = Parts::of(&text, "Emails", 6, &finders).unwrap();
        // B (primary), c (the needle), é (not ASCII), d" (an escape).
        assert_eq!(parts.positions, vec![1, 2, 3, 4]);
        assert_eq!(parts.key, "emails");
        assert_eq!(parts.resource["emails"][1]["value"], "c@x");
        assert_eq!(parts.resource["userName"], "u");
        // Below the minimum, or nothing to select: the whole path.
        assert!(Parts::of(&text, "emails", 7, &finders).is_none());
        let absent = [b"zz".to_vec()];
        let none: Vec<Finder<'_>> = absent.iter().map(Finder::new).collect();
        let plain = text
            .replace("true", "false")
            .replace("\u{e9}", "f")
            .replace("d\\\"", "d");
        assert!(Parts::of(&plain, "emails", 1, &none).is_none());
        // The document written back: the parsed elements replaced in their places.
        let mut resource = parts.resource.clone();
        resource["emails"][1]["type"] = json!("home");
        let (written, range) =
            written(&resource, &parts.key, &parts.elements, &parts.positions).unwrap();
        let mut expected: Value = serde_json::from_str(&text).unwrap();
        expected["emails"][2]["type"] = json!("home");
        assert_eq!(written, serde_json::to_string(&expected).unwrap());
        assert_eq!(
            &written[range],
            serde_json::to_string(&expected["emails"]).unwrap()
        );
    }

    mod props {
        use super::*;
        use crate::{block_on, Config, MemoryStore, Method, Request, RequestContext};
        use proptest::prelude::*;
        use scim_schema::Registry;

        fn engine(min: usize) -> Engine<MemoryStore> {
            let mut config = Config::new("https://example.com/scim/v2");
            config.min_values_patched_in_text = min;
            Engine::new(
                Registry::standard(),
                MemoryStore::with_id_generator(|| "u1".to_owned()),
                config,
            )
        }

        /// Values that share prefixes, case and escapes, so that filters select several.
        fn word() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("a@x".to_owned()),
                Just("A@X".to_owned()),
                Just("b@x".to_owned()),
                Just("ab@x".to_owned()),
                Just("\u{e9}@x".to_owned()),
                Just("q\"@x".to_owned()),
                Just("work".to_owned()),
                Just("home".to_owned()),
            ]
        }

        fn email() -> impl Strategy<Value = Value> {
            (
                word(),
                proptest::option::of(word()),
                any::<bool>(),
                proptest::option::of(word()),
            )
                .prop_map(|(value, kind, primary, display)| {
                    let mut m = Map::new();
                    m.insert("value".into(), json!(value));
                    if let Some(k) = kind {
                        m.insert("type".into(), json!(k));
                    }
                    if primary {
                        m.insert("primary".into(), json!(true));
                    }
                    if let Some(d) = display {
                        m.insert("display".into(), json!(d));
                    }
                    Value::Object(m)
                })
        }

        fn leaf() -> impl Strategy<Value = String> {
            let sub = prop_oneof![Just("value"), Just("type"), Just("display"), Just("Value")];
            let op = prop_oneof![Just("eq"), Just("co"), Just("sw"), Just("ew"), Just("ne")];
            (sub, op, word()).prop_map(|(s, o, w)| {
                format!("{s} {o} {}", serde_json::to_string(&w).unwrap_or_default())
            })
        }

        fn filter() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => leaf(),
                1 => (leaf(), leaf()).prop_map(|(a, b)| format!("{a} or {b}")),
                1 => (leaf(), leaf()).prop_map(|(a, b)| format!("{a} and {b}")),
                1 => Just("primary eq true".to_owned()),
            ]
        }

        fn operation() -> impl Strategy<Value = Value> {
            let kind = prop_oneof![Just("add"), Just("replace"), Just("remove")];
            let sub = prop_oneof![
                Just(Some("value")),
                Just(Some("type")),
                Just(Some("display")),
                Just(Some("primary")),
                Just(None)
            ];
            prop_oneof![
                6 => (kind, filter(), sub, word(), any::<bool>()).prop_map(|(k, f, s, w, b)| {
                    let path = match s {
                        Some(s) => format!("emails[{f}].{s}"),
                        None => format!("emails[{f}]"),
                    };
                    let value = match s {
                        Some("primary") => json!(b),
                        Some(_) => json!(w),
                        None => json!({"value": w, "primary": b}),
                    };
                    json!({"op": k, "path": path, "value": value})
                }),
                1 => word().prop_map(|w| json!({"op": "replace", "path": "displayName", "value": w})),
                1 => word().prop_map(|w| json!({"op": "add", "path": "emails", "value": [{"value": w}]})),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            /// Random requests on a user with many emails: the engine that patches on the
            /// text (from 4 values) answers each as the one that patches whole, and both
            /// keep the same user.
            #[test]
            fn the_text_patch_answers_as_the_whole_patch(
                emails in prop::collection::vec(email(), 4..12),
                requests in prop::collection::vec(prop::collection::vec(operation(), 1..3), 1..5),
            ) {
                let ctx = RequestContext::new(chrono::DateTime::UNIX_EPOCH);
                let (fast, whole) = (engine(4), engine(usize::MAX));
                // One primary at the most, as a create requires.
                let mut emails = emails;
                let mut seen = false;
                for e in &mut emails {
                    if e.get("primary").is_some() {
                        if let (true, Value::Object(m)) = (seen, &mut *e) {
                            m.remove("primary");
                        }
                        seen = true;
                    }
                }
                let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "u", "emails": emails});
                for e in [&fast, &whole] {
                    let created = block_on(e.handle(&ctx, Request::new(Method::Post, "/Users").with_json(&user)));
                    prop_assert_eq!(created.status, 201, "{}", created.body_json());
                }
                for ops in requests {
                    let req = Request::new(Method::Patch, "/Users/u1").with_json(&json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": ops}));
                    let a = block_on(fast.handle(&ctx, req.clone()));
                    let b = block_on(whole.handle(&ctx, req));
                    prop_assert_eq!(a.status, b.status);
                    prop_assert_eq!(String::from_utf8_lossy(&a.body), String::from_utf8_lossy(&b.body));
                }
            }
        }
    }
}
