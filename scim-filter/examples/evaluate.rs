//! Parses a SCIM filter, prints its canonical form, and evaluates it against JSON resources.
//!
//! ```text
//! cargo run -p scim-filter --example evaluate -- 'emails[type eq "work" and value co "@example.com"]'
//! cargo run -p scim-filter --example evaluate -- 'title pr' users.json
//! ```
//!
//! Without a file, the resources are three built-in users. A file holds one JSON resource,
//! a JSON array of resources, or JSON lines.

use std::process::ExitCode;

use scim_filter::{CompiledFilter, Filter};
use serde_json::{json, Value};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let text = args.next().unwrap_or_else(|| {
        r#"emails[type eq "work" and value co "@example.com"] and active eq true"#.to_owned()
    });
    let filter = match Filter::parse(&text) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{text}");
            eprintln!(
                "{}^",
                " ".repeat(text[..e.offset().min(text.len())].chars().count())
            );
            eprintln!("{e} (scimType {})", e.scim_type());
            return ExitCode::from(1);
        }
    };
    println!("filter:    {filter}");
    let compiled = match CompiledFilter::compile_schemaless(&filter) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e} (scimType {})", e.scim_type());
            return ExitCode::from(1);
        }
    };
    let resources = match args.next() {
        Some(path) => match load(&path) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::from(2);
            }
        },
        None => sample_users(),
    };
    let matching: Vec<&Value> = resources.iter().filter(|r| compiled.matches(r)).collect();
    println!("matches:   {} of {}", matching.len(), resources.len());
    for r in matching {
        let label = r.get("userName").or_else(|| r.get("id")).unwrap_or(r);
        println!("  {label}");
    }
    ExitCode::SUCCESS
}

fn load(path: &str) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(one) => Ok(vec![one]),
        Err(_) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| e.to_string()))
            .collect(),
    }
}

fn sample_users() -> Vec<Value> {
    vec![
        json!({"userName": "bjensen", "active": true, "title": "Tour Guide",
               "emails": [{"type": "work", "value": "bjensen@example.com", "primary": true},
                          {"type": "home", "value": "babs@jensen.org"}],
               "meta": {"lastModified": "2011-05-13T04:42:34Z"}}),
        json!({"userName": "jsmith", "active": true,
               "emails": [{"type": "home", "value": "john@example.com"}],
               "meta": {"lastModified": "2020-01-01T00:00:00Z"}}),
        json!({"userName": "mdoe", "active": false,
               "emails": [{"type": "work", "value": "mdoe@example.com"}],
               "meta": {"lastModified": "2024-06-30T12:00:00+02:00"}}),
    ]
}
