//! `runner check`: pre-flight of a playbook and every module it imports, touching no
//! org, reporting every finding at once.

use std::collections::BTreeSet;

use rhai::{AST, ASTNode, Dynamic, Engine, EvalAltResult, Expr, Position, Stmt};

use super::bindings::{PLAYBOOK_FUNCTIONS, sf_function_names};
use super::engine::{IMPORT_CYCLE_HINT, Playbook, constants_scope_for_compile, cycle, hardened_engine, import_path};
use crate::diagnostic::{Location, MAX_MESSAGE, PlaybookError, cut_line, diagnose};
use crate::sandbox::{self, Budget};
use crate::step::{ParamType, Registry};

impl Playbook {
    /// Pre-flights the playbook and every module it imports: unknown functions and
    /// steps, wrong argument shapes, misspelt or mistyped literal step arguments,
    /// missing modules. Touches no org. Returns every finding.
    pub fn check(&self, registry: &Registry) -> Vec<PlaybookError> {
        let engine = hardened_engine(&self.root, &self.sources, &self.entry, &Budget::new(sandbox::Limits::default()));
        let known = known_functions(&engine, registry);
        let mut findings = Vec::new();
        let mut modules = Modules { seen: BTreeSet::new(), loading: vec![self.entry.clone()] };
        self.check_ast(&self.ast, &self.name, registry, &known, &engine, &mut modules, &mut findings);
        findings
    }

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
    ) {
        let script_fns: BTreeSet<String> = ast.iter_functions().map(|f| f.name.to_string()).collect();
        let mut imports: Vec<(String, Position)> = Vec::new();
        let mut module_aliases: BTreeSet<String> = BTreeSet::new();
        ast.walk(&mut |path: &[ASTNode]| {
            let Some(node) = path.last() else { return true };
            match node {
                ASTNode::Stmt(Stmt::Import(import, pos)) => {
                    if let Expr::StringConstant(p, _) = &import.0 {
                        imports.push((p.to_string(), *pos));
                    }
                    module_aliases.insert(import.1.name.to_string());
                }
                ASTNode::Expr(Expr::FnCall(call, pos)) | ASTNode::Stmt(Stmt::FnCall(call, pos)) => {
                    let name = call.name.as_str();
                    if call.is_operator_call() {
                        return true;
                    }
                    let namespace = call.namespace.to_string();
                    let at = |message: String, help: Option<String>, code: &str| {
                        self.finding(code, message, help, source, *pos)
                    };
                    if namespace == "sf" {
                        if !sf_function_names().any(|f| f == name) {
                            findings.push(at(
                                format!("`sf::{name}` is not a function of the sf module"),
                                Some(format!(
                                    "the sf module has: {}",
                                    sf_function_names().collect::<Vec<_>>().join(", ")
                                )),
                                "runner::playbook::unknown_function",
                            ));
                        }
                    } else if namespace.is_empty() {
                        if let Some(step) = registry.get(name) {
                            findings.extend(check_step_call(step.meta(), step.params(), &call.args, |m, h| {
                                at(m, h, "runner::playbook::bad_argument")
                            }));
                        } else if !known.contains(name) && !script_fns.contains(name) {
                            let candidates =
                                known.iter().map(String::as_str).chain(script_fns.iter().map(String::as_str));
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
                }
                _ => {}
            }
            true
        });
        for (path, pos) in imports {
            let rel = match import_path(&path) {
                Ok(rel) => rel,
                Err(why) => {
                    findings.push(self.finding("runner::playbook::module_not_found", why, None, source, pos));
                    continue;
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
                continue;
            }
            if !modules.seen.insert(rel.clone()) {
                continue;
            }
            match self.root.read(&rel) {
                Err(why) => findings.push(self.finding(
                    "runner::playbook::module_not_found",
                    format!("cannot import `{path}`: {why}"),
                    Some("modules are loaded from the playbook's own folder".into()),
                    source,
                    pos,
                )),
                Ok((name, text)) => {
                    self.sources.add(&name, text.clone());
                    match engine.compile_with_scope(&constants_scope_for_compile(), &text) {
                        Err(err) => findings.push(diagnose(&EvalAltResult::from(err), &self.sources, &name, &[])),
                        Ok(module_ast) => {
                            for (code, message, help, at) in sandbox::scan(&module_ast) {
                                findings.push(self.finding(code, message, Some(help), &name, at));
                            }
                            modules.loading.push(rel.clone());
                            self.check_ast(&module_ast, &name, registry, known, engine, modules, findings);
                            modules.loading.pop();
                        }
                    }
                }
            }
        }
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

/// The modules `runner check` has looked at, and the chain of imports it is in.
struct Modules {
    seen: BTreeSet<String>,
    loading: Vec<String>,
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
    for keyword in keywords.iter().chain(PLAYBOOK_FUNCTIONS) {
        known.insert(keyword.to_string());
    }
    known.extend(registry.names().map(str::to_string));
    known
}

fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .filter(|c| !c.contains("::") && c.chars().all(|ch| ch.is_alphanumeric() || ch == '_'))
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
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
