//! The `string:` bodies of the recorded VCR cassettes, read with a YAML parser.

use yaml_rust2::{Yaml, YamlLoader};

/// Every scalar under a `string:` key, in document order.
pub fn strings(doc: &str) -> Vec<String> {
    let docs = YamlLoader::load_from_str(doc).expect("the cassette is YAML");
    let mut out = Vec::new();
    docs.iter().for_each(|d| collect(d, &mut out));
    out
}

fn collect(node: &Yaml, out: &mut Vec<String>) {
    match node {
        Yaml::Hash(map) => {
            for (key, value) in map {
                match (key.as_str(), value.as_str()) {
                    (Some("string"), Some(text)) => out.push(text.to_string()),
                    _ => collect(value, out),
                }
            }
        }
        Yaml::Array(items) => items.iter().for_each(|item| collect(item, out)),
        _ => {}
    }
}

#[test]
fn string_scalars_are_found_in_every_quoting_style() {
    let doc = "interactions:\n- request:\n    body: null\n  response:\n    body:\n      string: '{\"a\": 1}'\n- response:\n    body:\n      string: \"{\\\"b\\\":\n        2}\"\n- response:\n    body:\n      string: >-\n        {\"c\":\n        3}\n";
    assert_eq!(strings(doc), vec!["{\"a\": 1}", "{\"b\": 2}", "{\"c\": 3}"]);
}
