//! The layers of `../shared/DESIGN.md`, checked on the source: a request flows down (face → use
//! cases → views, guards → store → rules), nothing flows back up, and no two top-level modules
//! use each other. Someone who adds `use crate::service::…` to a rule, or a query to a view, makes
//! this test fail and is told which file and which layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    /// `api`, `app`, `main`: routes, extractors, handlers.
    Face,
    /// `service`, `webhooks`: one function per thing a caller does (the import runner among them);
    /// the webhook dispatcher.
    UseCases,
    /// `views`: response bodies built from rows and records; pure.
    Views,
    /// `policy`, `audit`, `auth`: who may do what, the access log, tokens.
    Guards,
    /// `db`: the queries; the only place that knows which backend runs.
    Store,
    /// `domain`: the SIP process, no I/O.
    Rules,
    /// `error`, `config`, `decode`, `schema`, `clock`.
    Ground,
}

fn layer_of_module(module: &str) -> Option<Layer> {
    Some(match module {
        "api" | "app" | "main" => Layer::Face,
        "service" | "webhooks" => Layer::UseCases,
        "views" => Layer::Views,
        "policy" | "audit" | "auth" => Layer::Guards,
        "db" => Layer::Store,
        "domain" => Layer::Rules,
        "error" | "config" | "decode" | "schema" | "clock" | "metrics" | "trace" => Layer::Ground,
        _ => return None,
    })
}

/// What each layer may use besides itself (DESIGN.md's table).
fn may_use(from: Layer, to: Layer) -> bool {
    use Layer::*;
    from == to
        || match from {
            Face => true,
            UseCases => matches!(to, Guards | Views | Store | Rules | Ground),
            Views => matches!(to, Store | Rules | Ground),
            Guards => matches!(to, Store | Rules | Ground),
            Store => matches!(to, Rules | Ground),
            Rules => matches!(to, Ground),
            // The settings read once at start include the rules' own settings types (deadlines,
            // the feed's retention, webhook retries): config names them, it runs none of them.
            Ground => matches!(to, Rules),
        }
}

fn sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The top-level module a source file belongs to (`src/db/plans.rs` → `db`); None for `lib.rs`.
fn module_of(file: &Path) -> Option<String> {
    let relative = file
        .strip_prefix(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src"))
        .unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?;
    let module = first.strip_suffix(".rs").unwrap_or(first);
    (module != "lib").then(|| module.to_string())
}

/// The top-level modules a source file names through `crate::` (in `use` lines, grouped imports
/// and paths in code), comments and string literals aside.
fn modules_used(source: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                // `use crate::{a::X, b, c::{…}}`: the names at the group's top level.
                let mut depth = 0;
                let mut name = String::new();
                let mut expecting_name = true;
                for ch in group.chars() {
                    match ch {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            if !name.is_empty() {
                                used.insert(std::mem::take(&mut name));
                            }
                            expecting_name = true;
                        }
                        c if depth == 0 && expecting_name && (c.is_alphanumeric() || c == '_') => {
                            name.push(c)
                        }
                        _ if !name.is_empty() => {
                            used.insert(std::mem::take(&mut name));
                            expecting_name = false;
                        }
                        _ => {}
                    }
                }
                if !name.is_empty() {
                    used.insert(name);
                }
            } else {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    used.insert(name);
                }
            }
            rest = after;
        }
    }
    used
}

#[test]
fn every_layer_uses_only_the_layers_below_it() {
    let mut breaches = Vec::new();
    for file in sources() {
        let Some(module) = module_of(&file) else {
            continue;
        };
        let from = layer_of_module(&module)
            .unwrap_or_else(|| panic!("{}: module `{module}` has no layer here", file.display()));
        let source = std::fs::read_to_string(&file).unwrap();
        for used in modules_used(&source) {
            let Some(to) = layer_of_module(&used) else {
                continue;
            };
            if !may_use(from, to) {
                breaches.push(format!(
                    "{} ({from:?}) uses crate::{used} ({to:?})",
                    file.display()
                ));
            }
        }
        // A view shows what it is given; it never reads.
        if from == Layer::Views && source.contains("DbConn") {
            breaches.push(format!("{} (Views) takes a connection", file.display()));
        }
    }
    assert!(
        breaches.is_empty(),
        "layer breaches:\n  {}",
        breaches.join("\n  ")
    );
}

#[test]
fn no_two_top_level_modules_use_each_other() {
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in sources() {
        let Some(module) = module_of(&file) else {
            continue;
        };
        let source = std::fs::read_to_string(&file).unwrap();
        let entry = uses.entry(module.clone()).or_default();
        for used in modules_used(&source) {
            if used != module && layer_of_module(&used).is_some() {
                entry.insert(used);
            }
        }
    }
    // A cycle is a module that reaches itself.
    let mut cycles = Vec::new();
    for start in uses.keys() {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        while let Some((at, path)) = todo.pop() {
            for next in uses.get(&at).into_iter().flatten() {
                if next == start {
                    cycles.push(format!("{} → {start}", path.join(" → ")));
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    todo.push((next.clone(), longer));
                }
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "module cycles:\n  {}",
        cycles.join("\n  ")
    );
}

#[test]
fn the_scanner_sees_grouped_and_inline_uses() {
    let source = "use crate::{db::plans::PlanRow, domain, error::{Error, Result}};\n\
                  let x = crate::service::plans::get(); // crate::api is a comment\n";
    let used: Vec<String> = modules_used(source).into_iter().collect();
    assert_eq!(used, ["db", "domain", "error", "service"]);
}
