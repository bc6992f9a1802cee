//! Loading the shared benchmark workload (`../shared/workload/`, or the directory named by
//! `SCIM_WORKLOAD_DIR`): filters, users, PATCH requests and their reference answers.

use std::path::PathBuf;

use serde_json::Value;

/// One line of `filters.txt`.
#[derive(Debug, Clone)]
pub struct WorkloadFilter {
    /// `f01` …
    pub id: String,
    /// `eq`, `case`, `co/sw/ew`, …
    pub class: String,
    /// The filter text.
    pub filter: String,
    /// Expected number of matching users.
    pub count: u64,
    /// Expected sum of the indexes of matching users.
    pub idxsum: u64,
}

/// The whole workload.
#[derive(Debug)]
pub struct Workload {
    /// The 34 filters with their answers.
    pub filters: Vec<WorkloadFilter>,
    /// The 10,000 users.
    pub users: Vec<Value>,
    /// `patches.json` as parsed JSON.
    pub patches: Value,
}

/// The workload directory: `$SCIM_WORKLOAD_DIR`, else `../shared/workload` beside the
/// repository.
pub fn workload_dir() -> PathBuf {
    match std::env::var_os("SCIM_WORKLOAD_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/workload"),
    }
}

impl Workload {
    /// Loads the workload, or explains what is missing.
    pub fn load() -> Result<Workload, String> {
        let dir = workload_dir();
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| format!("{}: {e} (set SCIM_WORKLOAD_DIR)", dir.join(name).display()))
        };
        let expected: Value =
            serde_json::from_str(&read("expected.json")?).map_err(|e| e.to_string())?;
        let mut filters = Vec::new();
        for line in read("filters.txt")?
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            let mut parts = line.splitn(3, '\t');
            let (Some(id), Some(class), Some(filter)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!("bad filters.txt line: {line}"));
            };
            let answer = &expected["filters"][id];
            filters.push(WorkloadFilter {
                id: id.to_owned(),
                class: class.to_owned(),
                filter: filter.to_owned(),
                count: answer["count"]
                    .as_u64()
                    .ok_or(format!("no count for {id}"))?,
                idxsum: answer["idxsum"]
                    .as_u64()
                    .ok_or(format!("no idxsum for {id}"))?,
            });
        }
        let users: Vec<Value> =
            serde_json::from_str(&read("users.json")?).map_err(|e| e.to_string())?;
        let patches: Value =
            serde_json::from_str(&read("patches.json")?).map_err(|e| e.to_string())?;
        Ok(Workload {
            filters,
            users,
            patches,
        })
    }
}

/// Count and index sum of the users for which `pred` holds, as `expected.json` records them.
pub fn count_and_idxsum(users: &[Value], mut pred: impl FnMut(&Value) -> bool) -> (u64, u64) {
    users
        .iter()
        .enumerate()
        .filter(|(_, u)| pred(u))
        .fold((0, 0), |(c, s), (i, _)| (c + 1, s + i as u64))
}
