//! The shared conformance corpus (`tests/data/*.jsonl`) as data-driven tests.
//!
//! Every case must pass, except those in an expected-failure list, each with a reason; an
//! expected failure that starts passing fails the test too, so the lists stay honest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use scim_filter::{
    AttrInfo, AttrPath, AttrSchema, AttrType, CompiledFilter, Filter, PatchPath, Schemaless,
};
use serde_json::Value;

fn cases(file: &str) -> Vec<Value> {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}: {e}: {l}")))
        .collect()
}

/// An ad-hoc schema as the elimity cases give it: `{"attributes":[{name,type,caseExact}]}`.
struct CaseSchema(HashMap<String, AttrInfo>);

impl CaseSchema {
    fn from_case(schema: Option<&Value>) -> Option<CaseSchema> {
        let attrs = schema?.get("attributes")?.as_array()?;
        let mut map = HashMap::new();
        for a in attrs {
            let name = a["name"].as_str()?.to_ascii_lowercase();
            let attr_type = match a["type"].as_str()? {
                "string" => AttrType::String,
                "reference" => AttrType::Reference,
                "integer" => AttrType::Integer,
                "decimal" => AttrType::Decimal,
                "dateTime" => AttrType::DateTime,
                "boolean" => AttrType::Boolean,
                "binary" => AttrType::Binary,
                _ => AttrType::Complex,
            };
            let info =
                AttrInfo::new(attr_type).case_exact(a["caseExact"].as_bool().unwrap_or(false));
            map.insert(name, info);
        }
        Some(CaseSchema(map))
    }
}

impl AttrSchema for CaseSchema {
    fn attribute(&self, path: &AttrPath) -> Option<AttrInfo> {
        if path.sub_attr.is_some() {
            return None;
        }
        self.0.get(&path.name.to_ascii_lowercase()).cloned()
    }
}

/// Filter cases expected to fail, with the reason.
const FILTER_XFAIL: &[(&str, &str)] = &[
    ("elimity/boolean-co", "RFC 7644 §3.4.2.2: booleans compare only with eq/ne; elimity matches co/sw/ew on the text \"true\", we answer invalidFilter"),
    ("elimity/boolean-sw", "RFC 7644 §3.4.2.2: booleans compare only with eq/ne; elimity matches co/sw/ew on the text \"true\", we answer invalidFilter"),
    ("elimity/boolean-ew", "RFC 7644 §3.4.2.2: booleans compare only with eq/ne; elimity matches co/sw/ew on the text \"true\", we answer invalidFilter"),
    ("elimity/integer-co-1", "RFC 7644 §3.4.2.2 defines co/sw/ew on strings; elimity matches them on a number's text form, we answer invalidFilter for a number literal"),
    ("elimity/integer-co-2", "RFC 7644 §3.4.2.2 defines co/sw/ew on strings; elimity matches them on a number's text form, we answer invalidFilter for a number literal"),
    ("elimity/integer-sw-1", "RFC 7644 §3.4.2.2 defines co/sw/ew on strings; elimity matches them on a number's text form, we answer invalidFilter for a number literal"),
    ("elimity/integer-ew-1", "RFC 7644 §3.4.2.2 defines co/sw/ew on strings; elimity matches them on a number's text form, we answer invalidFilter for a number literal"),
    ("elimity/integer-ew-2", "RFC 7644 §3.4.2.2 defines co/sw/ew on strings; elimity matches them on a number's text form, we answer invalidFilter for a number literal"),
    ("elimity/decimal-co-0", "RFC 7644 §3.4.2.2 defines co/sw/ew on strings; elimity matches them on a number's text form, we answer invalidFilter for a number literal"),
    ("elimity/decimal-co-1", "RFC 7644 §3.4.2.2 defines co/sw/ew on strings; elimity matches them on a number's text form, we answer invalidFilter for a number literal"),
    ("elimity/decimal-co-2", "RFC 7644 §3.4.2.2 defines co/sw/ew on strings; elimity matches them on a number's text form, we answer invalidFilter for a number literal"),
    ("elimity/decimal-sw-1", "RFC 7644 §3.4.2.2 defines co/sw/ew on strings; elimity matches them on a number's text form, we answer invalidFilter for a number literal"),
    ("elimity/decimal-sw-2", "RFC 7644 §3.4.2.2 defines co/sw/ew on strings; elimity matches them on a number's text form, we answer invalidFilter for a number literal"),
    ("elimity/decimal-ew-0", "RFC 7644 §3.4.2.2 defines co/sw/ew on strings; elimity matches them on a number's text form, we answer invalidFilter for a number literal"),
    ("elimity/decimal-ew-1", "RFC 7644 §3.4.2.2 defines co/sw/ew on strings; elimity matches them on a number's text form, we answer invalidFilter for a number literal"),
    ("elimity/decimal-ew-2", "RFC 7644 §3.4.2.2 defines co/sw/ew on strings; elimity matches them on a number's text form, we answer invalidFilter for a number literal"),
];

/// Path cases expected to fail, with the reason.
const PATH_XFAIL: &[(&str, &str)] = &[
    ("elimity/path-invalid-1", "attribute existence depends on the User/EnterpriseUser schema; scim-filter checks syntax only (schema-aware path checks belong to scim-schema)"),
    ("elimity/path-invalid-2", "attribute existence depends on the User/EnterpriseUser schema; scim-filter checks syntax only (schema-aware path checks belong to scim-schema)"),
    ("elimity/path-invalid-3", "attribute existence depends on the User/EnterpriseUser schema; scim-filter checks syntax only (schema-aware path checks belong to scim-schema)"),
    ("elimity/path-invalid-4", "attribute existence depends on the User/EnterpriseUser schema; scim-filter checks syntax only (schema-aware path checks belong to scim-schema)"),
    ("elimity/path-invalid-5", "attribute existence depends on the User/EnterpriseUser schema; scim-filter checks syntax only (schema-aware path checks belong to scim-schema)"),
    ("elimity/path-invalid-6", "attribute existence depends on the User/EnterpriseUser schema; scim-filter checks syntax only (schema-aware path checks belong to scim-schema)"),
    ("elimity/path-invalid-7", "attribute existence depends on the User/EnterpriseUser schema; scim-filter checks syntax only (schema-aware path checks belong to scim-schema)"),
];

/// Runs one filter case; `Err` says how it failed.
fn run_filter_case(case: &Value) -> Result<(), String> {
    let text = case["filter"].as_str().ok_or("no filter")?;
    let conflict = case["rfc_conflict"].as_bool().unwrap_or(false);
    let source_valid = case["valid"].as_bool().ok_or("no valid")?;
    let has_match = case.get("matches").is_some();
    // Where the source contradicts the RFC, the RFC wins: a string the source accepted is
    // invalid, unless the conflict is about the match result.
    let valid = if conflict && !has_match {
        false
    } else {
        source_valid
    };
    let parsed = Filter::parse(text);
    match (&parsed, valid) {
        (Ok(f), false) => return Err(format!("parsed as `{f}`, expected invalidFilter")),
        (Err(e), true) => return Err(format!("expected valid, got: {e}")),
        (Err(e), false) => {
            if e.scim_type() != "invalidFilter" {
                return Err(format!("wrong scimType {}", e.scim_type()));
            }
            return Ok(());
        }
        (Ok(_), true) => {}
    }
    let filter = parsed.map_err(|e| e.to_string())?;
    let printed = filter.to_string();
    let reparsed = Filter::parse(&printed)
        .map_err(|e| format!("canonical `{printed}` does not parse: {e}"))?;
    if reparsed != filter {
        return Err(format!("round trip changed the AST: `{printed}`"));
    }
    let Some(resource) = case.get("resource") else {
        return Ok(());
    };
    let source_matches = case["matches"].as_bool().ok_or("no matches")?;
    let expected = if conflict {
        !source_matches
    } else {
        source_matches
    };
    let compiled = match CaseSchema::from_case(case.get("schema")) {
        Some(schema) => CompiledFilter::compile(&filter, &schema),
        None => CompiledFilter::compile_schemaless(&filter),
    };
    let id = case["id"].as_str().unwrap_or("");
    match compiled {
        Ok(c) => {
            let got = c.matches(resource);
            if got != expected {
                return Err(format!("matches = {got}, expected {expected}"));
            }
        }
        // For elimity, "not passing" may mean an error (corpus README).
        Err(e) if expected || !id.starts_with("elimity/") => {
            return Err(format!("compile error: {e}"));
        }
        Err(_) => {}
    }
    Ok(())
}

fn run_path_case(case: &Value) -> Result<(), String> {
    let text = case["path"].as_str().ok_or("no path")?;
    let conflict = case["rfc_conflict"].as_bool().unwrap_or(false);
    let valid = case["valid"].as_bool().ok_or("no valid")? && !conflict;
    match (PatchPath::parse(text), valid) {
        (Ok(p), false) => Err(format!("parsed as `{p}`, expected invalidPath")),
        (Err(e), true) => Err(format!("expected valid, got: {e}")),
        (Err(e), false) if e.scim_type() != "invalidPath" => {
            Err(format!("wrong scimType {}", e.scim_type()))
        }
        (Err(_), false) => Ok(()),
        (Ok(p), true) => {
            let printed = p.to_string();
            match PatchPath::parse(&printed) {
                Ok(again) if again == p => Ok(()),
                other => Err(format!("round trip of `{printed}` gave {other:?}")),
            }
        }
    }
}

fn check_all(file: &str, xfail: &[(&str, &str)], run: fn(&Value) -> Result<(), String>) {
    let mut expectations = scim_test_support::Expectations::new(file, xfail);
    for case in &cases(file) {
        let id = case["id"].as_str().unwrap_or("?");
        let input = case
            .get("filter")
            .or(case.get("path"))
            .unwrap_or(&Value::Null);
        expectations.record(
            id,
            run(case).map_err(|why| format!("{why}\n    input: {input}")),
        );
    }
    expectations.finish();
}

#[test]
fn filters_corpus() {
    check_all("filters.jsonl", FILTER_XFAIL, run_filter_case);
}

#[test]
fn paths_corpus() {
    check_all("paths.jsonl", PATH_XFAIL, run_path_case);
}

/// Replays the committed `filter_eval` fuzz seeds (`fuzz/seeds/filter_eval/`, each
/// `<filter> NUL <JSON>`) with the target's invariants that need no fuzzing build: a
/// top-level `or`/`and` answers as its operands do, `not` negates, and respelling every
/// name changes nothing — on the seed's JSON and on documents whose keys are the filter's
/// names spelled two ways (the `filter_eval-or-vs-operands` finding: `userName` and
/// `usernaMe` in one document).
#[test]
fn filter_eval_fuzz_seeds_replay() {
    let dir = format!("{}/../fuzz/seeds/filter_eval", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}")) {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("read");
        let (text, json) = match data.iter().position(|&b| b == 0) {
            Some(i) => (&data[..i], Some(&data[i + 1..])),
            None => (&data[..], None),
        };
        let Ok(filter) = Filter::parse(&String::from_utf8_lossy(text)) else {
            continue;
        };
        seen += 1;
        let mut docs: Vec<Value> = json
            .and_then(|j| serde_json::from_slice(j).ok())
            .into_iter()
            .collect();
        docs.push(serde_json::json!({"userName": "a", "usernaMe": ""}));
        docs.push(serde_json::json!({"userName": "", "USERNAME": "a", "emails": [{"value": "a"}]}));
        for schema in [&Schemaless as &dyn AttrSchema, &Complexes] {
            replay(&path, &filter, &docs, schema);
        }
    }
    assert!(seen >= 12, "only {seen} seeds parsed in {dir}");
}

/// Complex attributes as RFC 7643 §4.1 has them: `emails` and `x509Certificates` with a
/// `value`, `name` and `meta` without.
struct Complexes;

impl AttrSchema for Complexes {
    fn attribute(&self, path: &AttrPath) -> Option<AttrInfo> {
        let name = path.name.to_ascii_lowercase();
        match (name.as_str(), path.sub_attr.as_deref()) {
            ("emails" | "x509certificates" | "name" | "meta", None) => {
                Some(AttrInfo::new(AttrType::Complex))
            }
            (_, Some(_)) => Some(AttrInfo::new(AttrType::String)),
            _ => None,
        }
    }
}

fn replay(path: &std::path::Path, filter: &Filter, docs: &[Value], schema: &dyn AttrSchema) {
    {
        let Ok(compiled) = CompiledFilter::compile(filter, schema) else {
            return;
        };
        let negated = CompiledFilter::compile(&Filter::Not(Box::new(filter.clone())), schema)
            .expect("compile not");
        let respelled = CompiledFilter::compile(&scim_filter::__private::respell(filter), schema)
            .expect("respell");
        let operands: Option<(bool, Vec<CompiledFilter>)> = match filter {
            Filter::And(ops) | Filter::Or(ops) => Some((
                matches!(filter, Filter::And(_)),
                ops.iter()
                    .map(|o| CompiledFilter::compile(o, schema).expect("operand"))
                    .collect(),
            )),
            _ => None,
        };
        for doc in docs {
            let m = compiled.matches(doc);
            let name = path.display();
            assert_eq!(negated.matches(doc), !m, "{name}: not, on {doc}");
            assert_eq!(respelled.matches(doc), m, "{name}: respelled, on {doc}");
            if let Some((is_and, ops)) = &operands {
                let mut each = ops.iter().map(|c| c.matches(doc));
                let expected = if *is_and {
                    each.all(|b| b)
                } else {
                    each.any(|b| b)
                };
                assert_eq!(m, expected, "{name}: chain vs operands, on {doc}");
            }
        }
    }
}
