//! Writes `RESULTS.md` from the estimates that `cargo bench` left under `target/criterion`
//! (or `$CRITERION_HOME`, or `$CARGO_TARGET_DIR/criterion`), plus the correctness summary,
//! which it recomputes on the workload (the same check the bench runs in its setup).
//!
//! ```text
//! cargo run --profile bench --example collect -- [--out FILE] [--command TEXT] [--note TEXT]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use scim_benches::Workload;
use scim_peer_benches::{prepare, summary_table, OURS, PEER_SCIM_FILTER, SCIM_V2};
use serde_json::Value;

/// The bench command recorded in `RESULTS.md` unless `--command` says otherwise.
const DEFAULT_COMMAND: &str = "cargo bench -- --warm-up-time 0.3 --measurement-time 1";

/// One criterion result: the typical time per iteration in ns and when it was written.
struct Estimate {
    ns: f64,
    written: SystemTime,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out = manifest_dir.join("RESULTS.md");
    let mut command = DEFAULT_COMMAND.to_owned();
    let mut note = String::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--out", Some(path)) => out = PathBuf::from(path),
            ("--command", Some(c)) => command = c,
            ("--note", Some(n)) => note = format!("- note: {n}\n"),
            _ => {
                return Err(format!(
                    "usage: collect [--out FILE] [--command TEXT] [--note TEXT] ({arg}?)"
                )
                .into())
            }
        }
    }

    let criterion_dir = criterion_dir(&manifest_dir);
    let mut estimates = BTreeMap::new();
    collect_estimates(&criterion_dir, &mut estimates)?;
    if estimates.is_empty() {
        return Err(format!(
            "no estimates under {}: run `{command}` first",
            criterion_dir.display()
        )
        .into());
    }

    let workload = Workload::load()?;
    let prepared = prepare(&workload);
    let reports: Vec<_> = prepared.iter().map(|p| p.report.clone()).collect();
    let users = workload.users.len() as f64;

    let get = |kind: &str, id: &str, imp: &str| estimates.get(&format!("peers/{kind}/{id}/{imp}"));
    let newest = estimates
        .iter()
        .filter(|(id, _)| id.starts_with("peers/"))
        .map(|(_, e)| e.written)
        .max()
        .unwrap_or(UNIX_EPOCH);

    let mut table = String::new();
    table.push_str(&format!(
        "| filter id | class | {OURS} parse | {PEER_SCIM_FILTER} parse | {SCIM_V2} parse \
         | {OURS} eval per user (ns) | {PEER_SCIM_FILTER} eval per user (ns) \
         | {PEER_SCIM_FILTER} correct? |\n"
    ));
    table.push_str("|---|---|--:|--:|--:|--:|--:|---|\n");
    let mut parse_ratios: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut eval_ratios = Vec::new();
    for r in &reports {
        let ours_parse = get("parse", &r.id, OURS);
        let peer_parse_cell = |imp: &'static str, ratios: &mut BTreeMap<&str, Vec<f64>>| match (
            get("parse", &r.id, imp),
            ours_parse,
        ) {
            (Some(p), Some(o)) => {
                ratios.entry(imp).or_default().push(p.ns / o.ns);
                format!("{} ({:.1}×)", duration(p.ns), p.ns / o.ns)
            }
            (Some(p), None) => duration(p.ns),
            (None, _) => "—".to_owned(),
        };
        let peer_parse = peer_parse_cell(PEER_SCIM_FILTER, &mut parse_ratios);
        let v2_parse = peer_parse_cell(SCIM_V2, &mut parse_ratios);
        let ours_eval = get("eval", &r.id, OURS);
        let peer_eval = match (get("eval", &r.id, PEER_SCIM_FILTER), ours_eval) {
            (Some(p), Some(o)) => {
                if r.peer_scim_filter.1.correct() == Some(true) {
                    eval_ratios.push(p.ns / o.ns);
                }
                format!("{:.1} ({:.1}×)", p.ns / users, p.ns / o.ns)
            }
            (Some(p), None) => format!("{:.1}", p.ns / users),
            (None, _) => "—".to_owned(),
        };
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.id,
            r.class,
            ours_parse.map_or("—".to_owned(), |e| duration(e.ns)),
            peer_parse,
            v2_parse,
            ours_eval.map_or("—".to_owned(), |e| format!("{:.1}", e.ns / users)),
            peer_eval,
            r.peer_scim_filter.1,
        ));
    }

    let mut geomeans = Vec::new();
    for (imp, ratios) in &parse_ratios {
        geomeans.push(format!(
            "- parse, {imp} ÷ {OURS}: geometric mean {:.1}× over {} filters",
            geomean(ratios),
            ratios.len()
        ));
    }
    geomeans.push(format!(
        "- eval, {PEER_SCIM_FILTER} ÷ {OURS}: geometric mean {:.1}× over the {} filters it \
         answers correctly",
        geomean(&eval_ratios),
        eval_ratios.len()
    ));

    let doc = format!(
        "# Peer benchmark results\n\n\
         Our `scim-filter` (this repository) beside `scim-filter` 0.2 and `scim_v2` 1.x from \
         crates.io, on the shared workload ({filters} filters, {users} users). Generated by \
         `examples/collect.rs`; see `README.md` for what is measured.\n\n\
         - date (UTC, of the newest estimate): {date}\n\
         - bench command, run in `benches/peers`: `{command}`\n\
         - table command: `cargo run --profile bench --example collect`\n\
         - machine: {machine}\n\
         - peer versions: {versions}\n\
         {note}\n\
         Times are criterion's typical estimate (slope of the linear fit, else mean) from one \
         short run on a shared machine: read them as rough ratios, not absolutes. Parse is one \
         `parse` of the filter text; eval is one pass over all {users} users divided by \
         {users}, on a filter parsed (ours: parsed and compiled) beforehand. `(n×)` is the \
         peer's time divided by ours. `scim_v2` parses only (it documents that it evaluates \
         no filter), so it has no eval column. A peer's eval is timed even when its answer is \
         wrong; the last column says whether its (count, idxsum) equals `expected.json`.\n\n\
         ## Times\n\n{table}\n{geomeans}\n\n\
         ## Correctness\n\n\
         Ours is asserted equal to `expected.json` before anything is timed. For \
         `scim-filter` 0.2 an `Err` from `Filter::r#match` counts as no match (its own \
         `scim_filter()` would fail the whole list instead); `, n Err` says how many users \
         gave one.\n\n{summary}",
        filters = reports.len(),
        users = workload.users.len(),
        date = utc_date(newest),
        machine = machine(),
        versions = peer_versions(&manifest_dir),
        geomeans = geomeans.join("\n"),
        summary = summary_table(&reports),
    );
    std::fs::write(&out, doc)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// Where criterion wrote its results (mirrors criterion 0.5's own choice).
fn criterion_dir(manifest_dir: &Path) -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(target) => PathBuf::from(target).join("criterion"),
        None => manifest_dir.join("target/criterion"),
    }
}

/// Every `new/benchmark.json` under `dir`, keyed by its `full_id`, with the estimate beside it.
fn collect_estimates(
    dir: &Path,
    into: &mut BTreeMap<String, Estimate>,
) -> Result<(), Box<dyn std::error::Error>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "new") {
                read_estimate(&path, into)?;
            } else {
                collect_estimates(&path, into)?;
            }
        }
    }
    Ok(())
}

fn read_estimate(
    new_dir: &Path,
    into: &mut BTreeMap<String, Estimate>,
) -> Result<(), Box<dyn std::error::Error>> {
    let (Ok(benchmark), Ok(estimates)) = (
        std::fs::read_to_string(new_dir.join("benchmark.json")),
        std::fs::read_to_string(new_dir.join("estimates.json")),
    ) else {
        return Ok(());
    };
    let benchmark: Value = serde_json::from_str(&benchmark)?;
    let estimates: Value = serde_json::from_str(&estimates)?;
    let Some(full_id) = benchmark["full_id"].as_str() else {
        return Ok(());
    };
    // criterion prints the slope when it has one (linear sampling), else the mean.
    let ns = estimates["slope"]["point_estimate"]
        .as_f64()
        .or_else(|| estimates["mean"]["point_estimate"].as_f64());
    if let Some(ns) = ns {
        let written = std::fs::metadata(new_dir.join("estimates.json"))?.modified()?;
        into.insert(full_id.to_owned(), Estimate { ns, written });
    }
    Ok(())
}

fn duration(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else {
        format!("{:.2} ms", ns / 1_000_000.0)
    }
}

fn geomean(ratios: &[f64]) -> f64 {
    if ratios.is_empty() {
        return f64::NAN;
    }
    (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp()
}

/// `YYYY-MM-DD` in UTC (days-from-civil inverted; Howard Hinnant's algorithm).
fn utc_date(t: SystemTime) -> String {
    let days = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// CPU model and core count, as far as Linux tells.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores available")
}

/// The peer versions locked in `Cargo.lock`.
fn peer_versions(manifest_dir: &Path) -> String {
    let Ok(lock) = std::fs::read_to_string(manifest_dir.join("Cargo.lock")) else {
        return "see Cargo.lock".to_owned();
    };
    let mut found = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            let v = v.trim_matches('"');
            let peer = (n == "scim-filter" && !v.starts_with("0.1.")) || n == "scim_v2";
            if peer {
                found.push(format!("{n} {v}"));
            }
        }
    }
    found.join(", ")
}
