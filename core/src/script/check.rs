//! `runner check`: pre-flight of a playbook and every module it imports, touching no
//! org, reporting every finding at once.

use std::collections::{BTreeMap, BTreeSet};

use rhai::{AST, ASTNode, Dynamic, Engine, EvalAltResult, Expr, FnAccess, Position, Stmt};

use super::bindings::{playbook_function_names, sf_function_names};
use super::engine::{
    IMPORT_CYCLE_HINT, Playbook, constants_scope_for_compile, cycle, find_module, hardened_engine, import_path,
};
use crate::diagnostic::{Location, MAX_MESSAGE, MODULE_SEARCH_HELP, PlaybookError, cut_line, diagnose};
use crate::sandbox::{self, Budget};
use crate::step::{ParamType, Registry};

impl Playbook {
    /// Pre-flights the playbook and every module it imports: unknown functions and
    /// steps (a module's too), calls to the file's or a module's functions with the
    /// wrong number of arguments, wrong argument shapes, misspelt or mistyped literal
    /// step arguments, missing modules, import cycles. Touches no org. Returns every
    /// finding.
    pub fn check(&self, registry: &Registry) -> Vec<PlaybookError> {
        let engine =
            hardened_engine(&self.search, &self.sources, &self.entry, &Budget::new(sandbox::Limits::default()));
        let known = known_functions(&engine, registry);
        let mut findings = Vec::new();
        let mut modules = Modules { seen: BTreeMap::new(), loading: vec![self.entry.clone()] };
        self.check_ast(&self.ast, &self.name, registry, &known, &engine, &mut modules, &mut findings);
        findings
    }

    /// Checks one file's calls, after the modules it imports (so that calls to their
    /// functions can be checked too), and returns what it exports: its public functions.
    #[allow(clippy::too_many_arguments)]
    fn check_ast(
        &self,
        ast: &AST,
        source: &str,
        registry: &Registry,
        known: &BTreeSet<String>,
        engine: &Engine,
        modules: &mut Modules,
        findings: &mut Vec<PlaybookError>,
    ) -> Exports {
        // Name → the numbers of parameters its definitions take.
        let mut script_fns: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        let mut exports = Exports::new();
        for f in ast.iter_functions() {
            script_fns.entry(f.name.to_string()).or_default().insert(f.params.len());
            if f.access != FnAccess::Private {
                exports.entry(f.name.to_string()).or_default().insert(f.params.len());
            }
        }
        let mut imports: Vec<(String, String, Position)> = Vec::new();
        ast.walk(&mut |path: &[ASTNode]| {
            if let Some(ASTNode::Stmt(Stmt::Import(import, pos))) = path.last()
                && let Expr::StringConstant(p, _) = &import.0
            {
                imports.push((p.to_string(), import.1.name.to_string(), *pos));
            }
            true
        });
        // Alias → what the module it names exports; a module that could not be loaded
        // has a finding of its own, and calls to it are not checked.
        let mut aliases: BTreeMap<String, Option<(String, Exports)>> = BTreeMap::new();
        for (path, alias, pos) in imports {
            let exported = self.check_import(&path, source, pos, registry, known, engine, modules, findings);
            let entry = exported.map(|e| (path.clone(), e));
            // Imported twice under one alias: only calls that fit neither are wrong.
            match (aliases.get_mut(&alias), entry) {
                (Some(Some((_, before))), Some((_, e))) => {
                    for (name, arities) in e {
                        before.entry(name).or_default().extend(arities);
                    }
                }
                (Some(slot), None) => *slot = None,
                (Some(None), Some(_)) => {}
                (None, entry) => {
                    aliases.insert(alias, entry);
                }
            }
        }
        ast.walk(&mut |path: &[ASTNode]| {
            let Some(node) = path.last() else { return true };
            let (ASTNode::Expr(Expr::FnCall(call, pos)) | ASTNode::Stmt(Stmt::FnCall(call, pos))) = node else {
                return true;
            };
            let name = call.name.as_str();
            if call.is_operator_call() {
                return true;
            }
            let namespace = call.namespace.to_string();
            let at =
                |message: String, help: Option<String>, code: &str| self.finding(code, message, help, source, *pos);
            if namespace == "sf" {
                if !sf_function_names().any(|f| f == name) {
                    findings.push(at(
                        format!("`sf::{name}` is not a function of the sf module"),
                        Some(format!("the sf module has: {}", sf_function_names().collect::<Vec<_>>().join(", "))),
                        "runner::playbook::unknown_function",
                    ));
                }
            } else if let Some(Some((module, exported))) = aliases.get(&namespace) {
                match exported.get(name) {
                    None => {
                        let best = closest(name, exported.keys().map(String::as_str));
                        findings.push(at(
                            format!("`{namespace}::{name}` is not a function of the module `{module}`"),
                            Some(match best {
                                Some(best) => format!("did you mean `{namespace}::{best}`?"),
                                None if exported.is_empty() => format!("`{module}` defines no public function"),
                                None => format!(
                                    "`{module}` defines: {}",
                                    exported.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
                                ),
                            }),
                            "runner::playbook::unknown_function",
                        ));
                    }
                    Some(arities) if !arities.contains(&call.args.len()) => findings.push(at(
                        format!(
                            "`{namespace}::{name}` takes {} argument(s); it was given {}",
                            describe_arities(arities),
                            call.args.len()
                        ),
                        Some(format!("see `fn {name}` in `{module}`")),
                        "runner::playbook::unknown_function",
                    )),
                    Some(_) => {}
                }
            } else if namespace.is_empty() {
                if let Some(step) = registry.get(name) {
                    findings.extend(check_step_call(step.meta(), step.params(), &call.args, |m, h| {
                        at(m, h, "runner::playbook::bad_argument")
                    }));
                } else if let Some(arities) = script_fns.get(name) {
                    // A native function of the same name may take the other numbers.
                    if !known.contains(name) && !arities.contains(&call.args.len()) {
                        findings.push(at(
                            format!(
                                "`{name}` takes {} argument(s); it was given {}",
                                describe_arities(arities),
                                call.args.len()
                            ),
                            Some(format!("see `fn {name}` in this file")),
                            "runner::playbook::unknown_function",
                        ));
                    }
                } else if !known.contains(name) {
                    let candidates = known.iter().map(String::as_str).chain(script_fns.keys().map(String::as_str));
                    findings.push(at(
                        format!("unknown function or step `{name}`"),
                        Some(match closest(name, candidates) {
                            Some(best) => format!("did you mean `{best}`? `runner steps` lists the steps"),
                            None => "`runner steps` lists the steps".to_string(),
                        }),
                        "runner::playbook::unknown_function",
                    ));
                }
            }
            true
        });
        exports
    }

    /// Loads and checks the module `path` imported from `source`: what it exports, or
    /// `None` when it cannot be loaded (a finding says why).
    #[allow(clippy::too_many_arguments)]
    fn check_import(
        &self,
        path: &str,
        source: &str,
        pos: Position,
        registry: &Registry,
        known: &BTreeSet<String>,
        engine: &Engine,
        modules: &mut Modules,
        findings: &mut Vec<PlaybookError>,
    ) -> Option<Exports> {
        let rel = match import_path(path) {
            Ok(rel) => rel,
            Err(why) => {
                findings.push(self.finding("runner::playbook::module_not_found", why, None, source, pos));
                return None;
            }
        };
        if let Some(cycle) = cycle(&modules.loading, &rel) {
            findings.push(self.finding(
                "runner::playbook::import_cycle",
                cycle,
                Some(IMPORT_CYCLE_HINT.into()),
                source,
                pos,
            ));
            return None;
        }
        if let Some(seen) = modules.seen.get(&rel) {
            return seen.clone();
        }
        // Marked before it is checked, so that a cycle through it is reported once.
        modules.seen.insert(rel.clone(), None);
        let exports = match find_module(&self.search, &rel) {
            Err(why) => {
                findings.push(self.finding(
                    "runner::playbook::module_not_found",
                    format!("cannot import `{path}`: {why}"),
                    Some(MODULE_SEARCH_HELP.into()),
                    source,
                    pos,
                ));
                None
            }
            Ok((name, text)) => {
                self.sources.add(&name, text.clone());
                match engine.compile_with_scope(&constants_scope_for_compile(), &text) {
                    Err(err) => {
                        findings.push(diagnose(&EvalAltResult::from(err), &self.sources, &name, &[]));
                        None
                    }
                    Ok(module_ast) => {
                        for (code, message, help, at) in sandbox::scan(&module_ast) {
                            findings.push(self.finding(code, message, Some(help), &name, at));
                        }
                        modules.loading.push(rel.clone());
                        let exports = self.check_ast(&module_ast, &name, registry, known, engine, modules, findings);
                        modules.loading.pop();
                        Some(exports)
                    }
                }
            }
        };
        modules.seen.insert(rel, exports.clone());
        exports
    }

    fn finding(&self, code: &str, message: String, help: Option<String>, source: &str, pos: Position) -> PlaybookError {
        PlaybookError {
            code: code.to_string(),
            message: cut_line(&message, MAX_MESSAGE),
            help,
            location: Location::at(&self.sources, source, pos).map(Box::new),
            calls: Vec::new(),
        }
    }
}

/// The modules `runner check` has looked at (with what each exports, `None` when it could
/// not be loaded), and the chain of imports it is in.
struct Modules {
    seen: BTreeMap<String, Option<Exports>>,
    loading: Vec<String>,
}

/// A module's public functions: name → the numbers of parameters its definitions take.
type Exports = BTreeMap<String, BTreeSet<usize>>;

/// `1`, or `1 or 2`.
fn describe_arities(arities: &BTreeSet<usize>) -> String {
    arities.iter().map(usize::to_string).collect::<Vec<_>>().join(" or ")
}

/// Every function name a playbook may call without defining it.
fn known_functions(engine: &Engine, registry: &Registry) -> BTreeSet<String> {
    let mut known: BTreeSet<String> = engine
        .gen_fn_signatures(true)
        .into_iter()
        .filter_map(|sig| sig.split('(').next().map(|n| n.trim().to_string()))
        .collect();
    // Keywords the parser turns into calls, and runner's own playbook functions.
    let keywords = ["print", "debug", "type_of", "Fn", "call", "curry", "is_def_var", "is_def_fn", "is_shared"];
    known.extend(keywords.iter().copied().chain(playbook_function_names()).map(str::to_string));
    known.extend(registry.names().map(str::to_string));
    known
}

fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    crate::suggest::closest(
        name,
        candidates.filter(|c| !c.contains("::") && c.chars().all(|ch| ch.is_alphanumeric() || ch == '_')),
    )
}

/// Checks a step call's literal arguments against the step's parameters.
fn check_step_call(
    meta: &crate::step::StepMeta,
    params: &[crate::step::ParamDoc],
    args: &[Expr],
    at: impl Fn(String, Option<String>) -> PlaybookError,
) -> Vec<PlaybookError> {
    let usage = format!("`runner steps {}` lists its parameters", meta.name);
    if args.len() != 1 {
        return vec![at(
            format!(
                "{} takes one object map, e.g. {}(#{{ … }}); it was given {} argument(s)",
                meta.name,
                meta.name,
                args.len()
            ),
            Some(usage),
        )];
    }
    // A map literal is an `Expr::Map`, or, when every value is a constant, folded by the
    // parser into one constant map. Either way: (key, literal kind or None if computed).
    let entries: Vec<(String, Option<ParamType>)> = match &args[0] {
        Expr::Map(map, _) => map.0.iter().map(|(k, v)| (k.name.to_string(), literal_kind(v))).collect(),
        Expr::DynamicConstant(value, _) if value.is_map() => match value.read_lock::<rhai::Map>() {
            Some(map) => map.iter().map(|(k, v)| (k.to_string(), dynamic_kind(v))).collect(),
            None => return Vec::new(),
        },
        Expr::StringConstant(..) | Expr::IntegerConstant(..) | Expr::BoolConstant(..) | Expr::Array(..) => {
            return vec![at(format!("{} takes one object map, e.g. {}(#{{ … }})", meta.name, meta.name), Some(usage))];
        }
        _ => return Vec::new(),
    };
    let mut findings = Vec::new();
    for (name, kind) in &entries {
        let Some(param) = params.iter().find(|p| &p.name == name) else {
            let best = closest(name, params.iter().map(|p| p.name.as_str()));
            findings.push(at(
                format!("{}: unknown field `{name}`", meta.name),
                Some(match best {
                    Some(best) => format!("did you mean `{best}`? {usage}"),
                    None => usage.clone(),
                }),
            ));
            continue;
        };
        if kind.is_some_and(|kind| kind != param.ty) {
            findings.push(at(
                format!("{}: `{name}` must be a {}", meta.name, param.ty.describe()),
                Some(param.doc.to_string()),
            ));
        }
    }
    for param in params.iter().filter(|p| p.required) {
        if !entries.iter().any(|(k, _)| *k == param.name) {
            findings
                .push(at(format!("{}: required field `{}` is missing", meta.name, param.name), Some(usage.clone())));
        }
    }
    findings
}

/// The parameter type a literal argument has; `None` when computed at run time.
fn literal_kind(expr: &Expr) -> Option<ParamType> {
    match expr {
        Expr::StringConstant(..) | Expr::InterpolatedString(..) => Some(ParamType::String),
        Expr::BoolConstant(..) => Some(ParamType::Bool),
        Expr::IntegerConstant(..) => Some(ParamType::Int),
        Expr::Array(..) => Some(ParamType::StringList),
        Expr::Map(..) => Some(ParamType::Map),
        Expr::DynamicConstant(value, _) => dynamic_kind(value),
        _ => None,
    }
}

fn dynamic_kind(value: &Dynamic) -> Option<ParamType> {
    if value.is_string() {
        Some(ParamType::String)
    } else if value.is_bool() {
        Some(ParamType::Bool)
    } else if value.is_int() {
        Some(ParamType::Int)
    } else if value.is_array() {
        Some(ParamType::StringList)
    } else if value.is_map() {
        Some(ParamType::Map)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::playbook::{Playbook, PlaybookRoot};
    use crate::step::Registry;

    fn write(dir: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("its folder");
            std::fs::write(path, text).expect("the file");
        }
    }

    /// `runner check` of `dir/p.rhai` with `lib` as library roots: (code, message, help).
    fn check(dir: &Path, lib: &[&Path]) -> Vec<(String, String, String)> {
        let lib = lib.iter().map(|d| PlaybookRoot::Dir { dir: d.to_path_buf() });
        let playbook = Playbook::load_file(&dir.join("p.rhai")).expect("compiles").with_lib(lib);
        playbook
            .check(&Registry::new())
            .into_iter()
            .map(|f| {
                let at = f.location.as_ref().map(|l| l.to_string()).unwrap_or_default();
                (f.code, format!("{} @ {at}", f.message), f.help.unwrap_or_default())
            })
            .collect()
    }

    #[test]
    fn a_misspelt_module_function_is_found_with_did_you_mean_at_its_line() {
        let dir = tempfile::tempdir().expect("a folder");
        write(
            dir.path(),
            &[
                (
                    "p.rhai",
                    "import \"lib/acme\" as acme;\nacme::ensure_settings(1);\nacme::ensure_setting(1, 2);\nacme::ensure_setting(1);",
                ),
                ("lib/acme.rhai", "fn ensure_setting(x) { x }\nprivate fn hidden() { 1 }"),
            ],
        );
        let found = check(dir.path(), &[]);
        assert_eq!(found.len(), 2, "{found:?}");
        let (code, message, help) = &found[0];
        assert_eq!(code, "runner::playbook::unknown_function");
        assert!(message.contains("`acme::ensure_settings`") && message.contains("p.rhai:2"), "{message}");
        assert!(help.contains("did you mean `acme::ensure_setting`"), "{help}");
        let (code, message, _) = &found[1];
        assert_eq!(code, "runner::playbook::unknown_function");
        assert!(message.contains("takes 1 argument(s); it was given 2") && message.contains("p.rhai:3"), "{message}");
    }

    #[test]
    fn a_private_function_or_a_wrong_arity_in_the_same_file_is_found() {
        let dir = tempfile::tempdir().expect("a folder");
        write(
            dir.path(),
            &[
                ("p.rhai", "import \"m\" as m;\nfn f(a) { a }\nf(1, 2);\nm::hidden();\nlet n = [1].len();"),
                ("m.rhai", "private fn hidden() { 1 }"),
            ],
        );
        let found = check(dir.path(), &[]);
        let messages: Vec<&str> = found.iter().map(|f| f.1.as_str()).collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            messages.iter().any(|m| m.contains("`m::hidden` is not a function") && m.contains("p.rhai:4")),
            "{messages:?}"
        );
        assert!(messages.iter().any(|m| m.contains("`f` takes 1") && m.contains("p.rhai:3")), "{messages:?}");
    }

    #[test]
    fn modules_are_found_in_library_roots_after_the_playbooks_own_folder() {
        let work = tempfile::tempdir().expect("a folder");
        let (client, shared) = (work.path().join("clients/a"), work.path().join("shared"));
        write(&client, &[("p.rhai", "import \"acme\" as acme;\nacme::ensure_setting(1);")]);
        write(&shared, &[("acme.rhai", "fn ensure_setting(x) { x }")]);
        assert!(check(&client, &[&shared]).is_empty(), "{:?}", check(&client, &[&shared]));
        // Without the root: not found, listing where it looked.
        let found = check(&client, &[]);
        assert_eq!(found[0].0, "runner::playbook::module_not_found", "{found:?}");
        assert!(found[0].1.contains("clients/a/acme.rhai"), "{found:?}");
        // The playbook's own folder wins.
        write(&client, &[("acme.rhai", "fn other() { 1 }")]);
        let found = check(&client, &[&shared]);
        assert!(found.iter().any(|f| f.1.contains("`acme::ensure_setting` is not a function")), "{found:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_a_library_root_is_refused_not_skipped() {
        let work = tempfile::tempdir().expect("a folder");
        let (client, shared, outside) =
            (work.path().join("client"), work.path().join("shared"), work.path().join("outside"));
        write(&client, &[("p.rhai", "import \"acme\" as acme;")]);
        write(&outside, &[("acme.rhai", "fn f() { 1 }")]);
        std::fs::create_dir_all(&shared).expect("shared");
        std::os::unix::fs::symlink(outside.join("acme.rhai"), shared.join("acme.rhai")).expect("a link");
        // A later root with the same module is not tried: the link is what was meant.
        let later = work.path().join("later");
        write(&later, &[("acme.rhai", "fn f() { 1 }")]);
        let found = check(&client, &[&shared, &later]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "runner::playbook::module_not_found");
        assert!(found[0].1.contains("leads outside"), "{found:?}");
    }

    #[test]
    fn a_cycle_through_a_library_root_is_reported_with_its_chain() {
        let work = tempfile::tempdir().expect("a folder");
        let (client, shared) = (work.path().join("client"), work.path().join("shared"));
        write(&client, &[("p.rhai", "import \"a\" as a;")]);
        write(&shared, &[("a.rhai", "import \"b\" as b;"), ("b.rhai", "import \"a\" as a;")]);
        let found = check(&client, &[&shared]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "runner::playbook::import_cycle");
        assert!(found[0].1.contains("a.rhai → b.rhai → a.rhai"), "{found:?}");
    }
}
