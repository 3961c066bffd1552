//! The README's attribute table is generated from `config::ATTRIBUTES`, the list the parser
//! itself checks against, so the documentation integrators read cannot drift from the code.
//! Run with `UPDATE_DOCS=1` to rewrite the table after changing an attribute.

use waitroom::config::ATTRIBUTES;

const START: &str = "<!-- attributes:start -->\n";
const END: &str = "<!-- attributes:end -->";

fn table() -> String {
    let mut out = String::from(
        "| attribute | type | default | values | what it does |\n|---|---|---|---|---|\n",
    );
    for a in ATTRIBUTES {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            a.name, a.kind, a.default, a.values, a.description
        ));
    }
    out
}

#[test]
fn readme_attribute_table_matches_the_parser() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let start = readme.find(START).expect("README has the attributes:start marker") + START.len();
    let end = readme.find(END).expect("README has the attributes:end marker");
    let expected = table();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, format!("{}{}{}", &readme[..start], expected, &readme[end..]))
            .unwrap();
        return;
    }
    assert_eq!(
        &readme[start..end],
        expected,
        "run `UPDATE_DOCS=1 cargo test --test readme` to refresh the README"
    );
}
