//! The facade lists the runtime's items by name (`src/lib.rs`), so a new
//! public item at the runtime's root would be missing from `proscenium::`
//! without anyone noticing. This test reads both roots' source and fails
//! when the runtime's root has a public item that the facade neither
//! re-exports nor leaves out on purpose ([`LEFT_OUT`], with the reason).

use std::collections::BTreeSet;

/// The runtime's root items the facade's root does not re-export, each
/// with why. They stay reachable as `proscenium::runtime::NAME`.
const LEFT_OUT: &[(&str, &str)] = &[(
    "remote",
    "the seam a network layer plugs into; actor code never needs it, so \
     it stays at proscenium::runtime::remote",
)];

const RUNTIME_ROOT: &str = include_str!("../runtime/src/lib.rs");
const FACADE_ROOT: &str = include_str!("../src/lib.rs");

#[test]
fn the_facade_reexports_every_runtime_root_item_or_says_why_not() {
    let runtime = public_names(RUNTIME_ROOT);
    let facade = runtime_items_reexported(FACADE_ROOT);
    let left_out: BTreeSet<&str> = LEFT_OUT.iter().map(|&(name, _)| name).collect();
    let missing: Vec<&String> = runtime
        .iter()
        .filter(|name| !facade.contains(*name) && !left_out.contains(name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "the runtime's root has public items the facade (src/lib.rs) does not re-export: \
         {missing:?}; add them to a `pub use proscenium_runtime::{{..}}` line there, or to \
         LEFT_OUT in tests/facade_surface.rs with the reason"
    );
}

#[test]
fn every_item_left_out_exists_and_is_really_left_out() {
    let runtime = public_names(RUNTIME_ROOT);
    let facade = runtime_items_reexported(FACADE_ROOT);
    for &(name, _) in LEFT_OUT {
        assert!(
            runtime.contains(name),
            "LEFT_OUT names `{name}`, which the runtime's root no longer has: remove it"
        );
        assert!(
            !facade.contains(name),
            "LEFT_OUT names `{name}`, which the facade re-exports: remove it from LEFT_OUT"
        );
    }
}

#[test]
fn the_reader_finds_the_items_it_is_shown() {
    let source = "\
//! Docs that mention pub use nothing::{Here};
mod private;
pub mod remote;
pub(crate) use private::Hidden;
#[cfg(feature = \"x\")]
pub use a::{B, c::{D, E as F}};
pub use g::H as I;
pub async fn run() {}
pub const fn make() {}
pub const LIMIT: usize = 1;
pub struct Plain;
pub mod inline {
    pub use deep::Nested;
}
";
    let expected = [
        "B", "D", "F", "I", "LIMIT", "Plain", "inline", "make", "remote", "run",
    ];
    assert_eq!(public_names(source), expected.map(String::from).into());
    assert!(public_names(RUNTIME_ROOT).contains("ActorRef"));
    assert!(runtime_items_reexported(FACADE_ROOT).contains("ActorRef"));
}

/// The names a crate root makes public: its top-level `pub` items and
/// what its top-level `pub use`s bring in, under the names they give.
fn public_names(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for statement in top_level_pub_statements(source) {
        match statement.strip_prefix("use ") {
            Some(tree) => names.extend(use_tree(tree).into_iter().map(|(_, name)| name)),
            None => {
                names.insert(item_name(&statement));
            }
        }
    }
    names
}

/// The runtime items the facade's root re-exports, by their names in the
/// runtime (a renaming `as` still counts as re-exported).
fn runtime_items_reexported(source: &str) -> BTreeSet<String> {
    top_level_pub_statements(source)
        .iter()
        .filter_map(|statement| statement.strip_prefix("use proscenium_runtime::"))
        .flat_map(use_tree)
        .map(|(path, _)| path.rsplit("::").next().unwrap_or(&path).to_owned())
        .collect()
}

/// Each top-level `pub` statement without its `pub `, whitespace
/// collapsed: a `use` up to its `;`, any other item its first line, which
/// holds its name. Items inside an inline module are indented, so not
/// top-level; `pub(crate)` items are not `pub `.
fn top_level_pub_statements(source: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut open_use: Option<String> = None;
    for line in source.lines() {
        let line = line.split("//").next().unwrap_or_default();
        let statement = match open_use.take() {
            Some(so_far) => so_far + " " + line,
            None if line.starts_with("pub use ") => line.to_owned(),
            None if line.starts_with("pub ") => {
                statements.push(line.to_owned());
                continue;
            }
            None => continue,
        };
        if statement.trim_end().ends_with(';') {
            statements.push(statement);
        } else {
            open_use = Some(statement);
        }
    }
    statements
        .iter()
        .map(|statement| {
            let words = statement.split_whitespace().collect::<Vec<_>>().join(" ");
            let words = words.trim_end_matches(';');
            words.strip_prefix("pub ").unwrap_or(words).to_owned()
        })
        .collect()
}

/// The name a `pub` item declaration (`fn run() {`, `struct Plain;`,
/// `mod remote;`, `const fn make`, `const LIMIT: usize = 1;`) gives: the
/// word after its kind.
fn item_name(statement: &str) -> String {
    const KINDS: &[&str] = &[
        "fn", "struct", "enum", "trait", "type", "const", "static", "mod", "union",
    ];
    const QUALIFIERS: &[&str] = &["async", "unsafe", "extern"];
    let words: Vec<&str> = statement
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
        .collect();
    let name = words.windows(2).find_map(|pair| match *pair {
        [kind, name]
            if KINDS.contains(&kind) && !KINDS.contains(&name) && !QUALIFIERS.contains(&name) =>
        {
            Some(name)
        }
        _ => None,
    });
    let name = name.unwrap_or_else(|| {
        panic!("cannot read the name of `pub {statement}`: teach item_name this kind of item")
    });
    name.to_owned()
}

/// The (path, name) pairs a use tree such as `a::{B, c::{D, E as F}}`
/// brings in.
fn use_tree(tree: &str) -> Vec<(String, String)> {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let prefix = &tree[..open];
        let inner = &tree[open + 1..tree.rfind('}').expect("a closed use group")];
        return split_top_level(inner)
            .into_iter()
            .filter(|part| !part.trim().is_empty())
            .flat_map(|part| use_tree(&format!("{prefix}{}", part.trim())))
            .collect();
    }
    assert!(
        !tree.ends_with('*'),
        "a glob re-export (`{tree}`) hides what a root exports; list the items by name"
    );
    match tree.split_once(" as ") {
        Some((path, name)) => vec![(path.trim().to_owned(), name.trim().to_owned())],
        None => {
            let name = tree.rsplit("::").next().unwrap_or(tree);
            vec![(tree.to_owned(), name.to_owned())]
        }
    }
}

/// `inner` split at the commas outside any nested `{..}`.
fn split_top_level(inner: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (at, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
}
