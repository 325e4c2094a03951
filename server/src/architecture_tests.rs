//! Keeps the rooms acyclic where `docs/architecture.md` ("Who may depend on whom") says so: every
//! `crate::<module>` a file of `src/` names must be in its row of that table. The table is read from the
//! document, so the rule and its description cannot drift apart.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// Crate-root macros and functions, and the module they belong to.
const ROOT_ITEMS: &[(&str, &str)] = &[
    ("with_db", "db"),
    ("with_tx", "db"),
    ("bind_args", "db"),
    ("list_params", "resource"),
    ("periodic_tasks", "lib"),
];

const SECTION: &str = "## Who may depend on whom";

/// Table rows: the module (or file, `jobs/periodic.rs`), or `*` for any module not listed, and what it
/// may use (`*` for anything).
fn rules(doc: &str) -> BTreeMap<String, BTreeSet<String>> {
    let start = doc
        .find(SECTION)
        .expect("docs/architecture.md has a \"Who may depend on whom\" section");
    let section = &doc[start + SECTION.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let ticked = |cell: &str| -> Vec<String> { cell.split('`').skip(1).step_by(2).map(str::to_string).collect() };
    let mut rules = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.split('|').collect();
        if cells.len() < 4 || cells[1].trim().starts_with("---") {
            continue;
        }
        let allowed: BTreeSet<String> = ticked(cells[2]).into_iter().collect();
        for module in ticked(cells[1]) {
            assert!(
                rules.insert(module.clone(), allowed.clone()).is_none(),
                "{module} has two rows"
            );
        }
    }
    assert!(!rules.is_empty(), "the dependency table has no rows");
    rules
}

/// The top-level modules a source text names through `crate::` (including `use crate::{a, b::c}`
/// groups and `$crate::` in macros). Comments are left out.
fn named_modules(source: &str) -> BTreeSet<String> {
    let code: String = source
        .lines()
        .map(|l| l.split_once("//").map_or(l, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n");
    let mut names = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group, skipping nested braces.
            let (mut depth, mut item, mut end) = (0, String::new(), group.len());
            for (i, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = i;
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.extend(ident(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(ch);
                }
            }
            names.extend(ident(&item));
            rest = &group[end..];
        } else {
            names.extend(ident(rest));
        }
    }
    names
}

fn ident(text: &str) -> Option<String> {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    (end > 0).then(|| text[..end].to_string())
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every violation: `file names crate::x, which its row does not allow`.
fn violations(src: &Path, rules: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| f.strip_prefix(src).expect("under src"))
        .map(|rel| {
            let first = rel
                .components()
                .next()
                .expect("a component")
                .as_os_str()
                .to_string_lossy();
            first.trim_end_matches(".rs").to_string()
        })
        .collect();
    let mut found = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        let module = rel
            .split('/')
            .next()
            .expect("a module")
            .trim_end_matches(".rs")
            .to_string();
        if module == "lib" || module == "main" || module == "architecture_tests" {
            continue;
        }
        let allowed = rules
            .get(&rel)
            .or_else(|| rules.get(&module))
            .or_else(|| rules.get("*"))
            .unwrap_or_else(|| panic!("{rel}: no row for `{module}` and no `*` row"));
        if allowed.contains("*") {
            continue;
        }
        let source = std::fs::read_to_string(file).expect("readable source");
        for name in named_modules(&source) {
            let target = ROOT_ITEMS
                .iter()
                .find(|(item, _)| *item == name)
                .map(|(_, owner)| owner.to_string())
                .unwrap_or_else(|| {
                    if modules.contains(&name) {
                        name.clone()
                    } else {
                        "lib".to_string()
                    }
                });
            if target != module && !allowed.contains(&target) {
                found.push(format!(
                    "{rel} names crate::{name} (`{target}`), which its row does not allow"
                ));
            }
        }
    }
    found
}

#[test]
fn rooms_depend_only_on_what_the_table_allows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("../docs/architecture.md")).expect("docs/architecture.md");
    let rules = rules(&doc);
    for strict in ["db", "http", "jobs/periodic.rs", "periodic"] {
        assert!(rules.contains_key(strict), "the table keeps a row for {strict}");
    }
    assert!(rules["db"].is_empty(), "db/ depends on no other module");
    assert!(!rules["http"].contains("auth"), "http/ does not depend on auth");
    let found = violations(&root.join("src"), &rules);
    assert!(
        found.is_empty(),
        "dependencies outside docs/architecture.md's table:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scanner_sees_groups_paths_and_macros_but_not_comments() {
    let source = r#"
        use crate::{auth::{AuthUser, extract}, db::Tx, with_tx};
        use crate::jobs;
        // crate::email is only mentioned
        let x = crate::audit::record(); /// crate::config too
        $crate::http::context::current();
    "#;
    let names: Vec<String> = named_modules(source).into_iter().collect();
    assert_eq!(names, ["audit", "auth", "db", "http", "jobs", "with_tx"]);
}
