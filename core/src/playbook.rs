//! Playbooks: the hardened Rhai engine, module loading confined to the playbook's
//! folder, pre-flight checks, and errors that point at the line in the right file.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use miette::{Diagnostic, LabeledSpan, SourceCode};
use rhai::{
    AST, ASTNode, Dynamic, Engine, EvalAltResult, Expr, GlobalRuntimeState, Module, ModuleResolver, Position, Scope,
    Shared, Stmt,
};

type SharedModule = Shared<Module>;

use crate::facts::OrgFacts;
use crate::report::FailureInfo;
use crate::run::{RunShared, SF_FUNCTIONS, register_run_functions};
use crate::sandbox::{self, Budget};
use crate::step::{ParamType, Registry};

/// Where a playbook and the modules it imports come from.
#[derive(Debug, Clone)]
pub enum PlaybookRoot {
    /// A folder on disk. Imports resolve inside it and nowhere else.
    Dir { dir: PathBuf },
    /// Playbooks built into the binary: (path, text), and the folder (`""` or
    /// `"examples/"`) that plays the role of the playbook's own folder.
    Embedded { files: &'static [(&'static str, &'static str)], dir: String },
}

impl PlaybookRoot {
    /// Reads `rel` (a path relative to the root): (display name, text).
    fn read(&self, rel: &str) -> Result<(String, String), String> {
        match self {
            PlaybookRoot::Dir { dir } => {
                let root = dir.canonicalize().map_err(|e| format!("cannot open folder {}: {e}", dir.display()))?;
                let candidate = dir.join(rel);
                let display = candidate.strip_prefix(".").unwrap_or(&candidate).display().to_string();
                let real = candidate.canonicalize().map_err(|_| format!("{display} does not exist"))?;
                if !real.starts_with(&root) {
                    return Err(format!("{display} leads outside the playbook's folder {}", dir.display()));
                }
                if real.is_dir() {
                    return Err(format!("{display} is a folder, not a playbook file"));
                }
                let text = std::fs::read_to_string(&real).map_err(|e| format!("cannot read {display}: {e}"))?;
                Ok((display, without_bom(text)))
            }
            PlaybookRoot::Embedded { files, dir } => {
                let path = format!("{dir}{rel}");
                files
                    .iter()
                    .find(|(name, _)| *name == path)
                    .map(|(name, text)| (format!("{name} (built in)"), without_bom(text.to_string())))
                    .ok_or_else(|| format!("{path} is not a built-in playbook file"))
            }
        }
    }
}

/// Editors on Windows start UTF-8 files with a byte-order mark, which Rhai reads as an
/// unexpected invisible character. Dropping it keeps every line and column as shown.
fn without_bom(text: String) -> String {
    match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

/// Checks an import path: relative, inside the folder, `.rhai` appended when missing.
fn import_path(path: &str) -> Result<String, String> {
    let with_ext = if path.ends_with(".rhai") { path.to_string() } else { format!("{path}.rhai") };
    let p = Path::new(&with_ext);
    let inside = !path.is_empty()
        && p.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        && !path.contains('\\');
    if inside { Ok(with_ext) } else { Err(format!("`{path}` is not a path inside the playbook's folder")) }
}

/// The text of every file a playbook has loaded, by display name, for diagnostics.
#[derive(Debug, Default)]
pub struct Sources {
    files: Mutex<HashMap<String, Arc<String>>>,
    /// What the loaded files assign into by index, whose sizes are checked as they run.
    pub(crate) assigned_roots: Arc<sandbox::AssignedRoots>,
}

impl Sources {
    fn add(&self, name: &str, text: String) -> Arc<String> {
        let text = Arc::new(text);
        if let Ok(mut files) = self.files.lock() {
            files.insert(name.to_string(), text.clone());
        }
        text
    }

    fn get(&self, name: &str) -> Option<Arc<String>> {
        self.files.lock().ok()?.get(name).cloned()
    }
}

/// Loads `import`ed modules from the playbook's root only, remembering their text.
struct ConfinedResolver {
    root: PlaybookRoot,
    sources: Arc<Sources>,
    cache: Mutex<HashMap<String, SharedModule>>,
    /// The playbook, then every module being loaded, outermost first (paths relative to
    /// the root): a module that imports one of them is a cycle, which would recurse until
    /// the stack overflows.
    loading: Mutex<Vec<String>>,
    entry: String,
}

impl ConfinedResolver {
    fn load(
        &self,
        engine: &Engine,
        global: &mut GlobalRuntimeState,
        path: &str,
        pos: Position,
    ) -> Result<SharedModule, Box<EvalAltResult>> {
        let not_found = |why: String| Box::new(EvalAltResult::ErrorModuleNotFound(format!("{path}: {why}"), pos));
        let rel = import_path(path).map_err(not_found)?;
        if let Some(module) = self.cache.lock().ok().and_then(|c| c.get(&rel).cloned()) {
            return Ok(module);
        }
        let mut stack = self.loading.lock().map(|l| l.clone()).unwrap_or_default();
        if stack.is_empty() {
            stack.push(self.entry.clone());
        }
        if let Some(cycle) = cycle(&stack, &rel) {
            return Err(sandbox::refusal("runner::playbook::import_cycle", cycle, IMPORT_CYCLE_HINT, pos));
        }
        // Each nested import is a level of Rust recursion, like a function call.
        if global.level >= engine.max_call_levels() {
            return Err(Box::new(EvalAltResult::ErrorStackOverflow(pos)));
        }
        let (name, text) = self.root.read(&rel).map_err(not_found)?;
        self.sources.add(&name, text.clone());
        let mut ast = engine
            .compile_with_scope(&constants_scope_for_compile(), &text)
            .map_err(|err| Box::new(EvalAltResult::ErrorInModule(name.clone(), err.into(), pos)))?;
        if let Some((code, message, hint, at)) = sandbox::scan(&ast).into_iter().next() {
            let refused = sandbox::refusal(code, message, &hint, at);
            return Err(Box::new(EvalAltResult::ErrorInModule(name.clone(), refused, pos)));
        }
        self.sources.assigned_roots.add(&ast);
        ast.set_source(name.as_str());
        stack.push(rel.clone());
        if let Ok(mut loading) = self.loading.lock() {
            *loading = stack;
        }
        // The importer's runtime state, so that the module's operations and call depth
        // count towards the same limits; a fresh scope, so that it sees only its own.
        global.level += 1;
        let evaluated = Module::eval_ast_as_new_raw(engine, &mut Scope::new(), global, &ast);
        global.level -= 1;
        if let Ok(mut loading) = self.loading.lock() {
            loading.pop();
        }
        let module: SharedModule =
            evaluated.map_err(|err| Box::new(EvalAltResult::ErrorInModule(name.clone(), err, pos)))?.into();
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(rel, module.clone());
        }
        Ok(module)
    }
}

const IMPORT_CYCLE_HINT: &str =
    "a module may not import, directly or not, a module that imports it; move what both need into a third module";

/// `a.rhai → b.rhai → a.rhai` when importing `rel` from the innermost of `stack` closes
/// a cycle.
fn cycle(stack: &[String], rel: &str) -> Option<String> {
    let start = stack.iter().position(|m| m == rel)?;
    let files: Vec<&str> = stack[start..].iter().map(String::as_str).chain([rel]).collect();
    Some(format!("import cycle: {}", files.join(" → ")))
}

impl ModuleResolver for ConfinedResolver {
    fn resolve(
        &self,
        engine: &Engine,
        _source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<SharedModule, Box<EvalAltResult>> {
        self.load(engine, &mut engine.new_global_runtime_state(), path, pos)
    }

    fn resolve_raw(
        &self,
        engine: &Engine,
        global: &mut GlobalRuntimeState,
        _scope: &mut Scope,
        path: &str,
        pos: Position,
    ) -> Result<SharedModule, Box<EvalAltResult>> {
        self.load(engine, global, path, pos)
    }
}

/// The names of the constants every playbook sees, so that strict variables accept
/// them at compile time. Pushed as plain variables: the optimizer would otherwise fold
/// these placeholder values into the compiled playbook.
fn constants_scope_for_compile() -> Scope<'static> {
    let mut scope = Scope::new();
    scope.push("org", rhai::Map::new());
    scope.push("vars", rhai::Map::new());
    scope
}

/// Builds the hardened engine: bounded operations (shared by every pass of a run, see
/// [`Budget`]), wall time, depth and sizes; strict variables; no `eval`, no `sleep`;
/// imports confined to the playbook's folder.
fn hardened_engine(root: &PlaybookRoot, sources: &Arc<Sources>, entry: &str, budget: &Arc<Budget>) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_call_levels(48)
        .set_max_expr_depths(64, 64)
        .set_max_string_size(1 << 20)
        .set_max_array_size(100_000)
        .set_max_map_size(10_000)
        .set_max_modules(64)
        .set_max_variables(10_000)
        .set_max_functions(1_000)
        .set_strict_variables(true)
        .set_module_resolver(ConfinedResolver {
            root: root.clone(),
            sources: sources.clone(),
            cache: Mutex::new(HashMap::new()),
            loading: Mutex::new(Vec::new()),
            entry: entry.to_string(),
        });
    engine.disable_symbol("eval");
    sandbox::install(&mut engine, budget, &sources.assigned_roots);
    // Strict variables resolve module names at compile time; a run replaces this
    // placeholder with the live `sf` module.
    engine.register_static_module("sf", Module::new().into());
    engine
}

/// A compiled playbook.
pub struct Playbook {
    name: String,
    /// Its path relative to `root`.
    entry: String,
    root: PlaybookRoot,
    ast: AST,
    sources: Arc<Sources>,
}

impl fmt::Debug for Playbook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Playbook").field("name", &self.name).finish()
    }
}

impl Playbook {
    /// Loads and compiles the playbook at `entry` (relative to `root`).
    pub fn load(root: PlaybookRoot, entry: &str) -> Result<Playbook, PlaybookError> {
        let sources = Arc::new(Sources::default());
        let (name, text) = root.read(entry).map_err(|why| PlaybookError::plain("runner::playbook::not_found", why))?;
        let text = sources.add(&name, text);
        let engine = hardened_engine(&root, &sources, entry, &Budget::new(sandbox::Limits::default()));
        let mut ast = engine
            .compile_with_scope(&constants_scope_for_compile(), text.as_str())
            .map_err(|err| diagnose(&EvalAltResult::from(err), &sources, &name, &[]))?;
        if let Some((code, message, help, pos)) = sandbox::scan(&ast).into_iter().next() {
            let mut error = PlaybookError::plain(code, message);
            error.help = Some(help);
            error.location = Location::at(&sources, &name, pos).map(Box::new);
            return Err(error);
        }
        sources.assigned_roots.add(&ast);
        ast.set_source(name.as_str());
        Ok(Playbook { name, entry: entry.to_string(), root, ast, sources })
    }

    /// Loads a built-in playbook by its path among `files` (`setup.rhai`, `examples/hello.rhai`).
    pub fn load_embedded(
        files: &'static [(&'static str, &'static str)],
        path: &str,
    ) -> Result<Playbook, PlaybookError> {
        let (dir, entry) = match path.rsplit_once('/') {
            Some((dir, entry)) => (format!("{dir}/"), entry),
            None => (String::new(), path),
        };
        Playbook::load(PlaybookRoot::Embedded { files, dir }, entry)
    }

    /// Loads a playbook from a file path: its folder becomes the root.
    pub fn load_file(path: &Path) -> Result<Playbook, PlaybookError> {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let file = path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
        Playbook::load(PlaybookRoot::Dir { dir: dir.to_path_buf() }, &file)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn engine_for_run(&self, registry: &Registry, shared: &Arc<RunShared>) -> Engine {
        self.engine_with(&shared.budget, |engine| register_run_functions(engine, registry, shared))
    }

    /// The hardened engine, counting against `budget`, with functions registered by `register`.
    pub(crate) fn engine_with(&self, budget: &Arc<Budget>, register: impl FnOnce(&mut Engine)) -> Engine {
        let mut engine = hardened_engine(&self.root, &self.sources, &self.entry, budget);
        register(&mut engine);
        engine
    }

    /// Runs the compiled playbook with `org` and `vars` as constants.
    pub(crate) fn run(
        &self,
        engine: &Engine,
        budget: &Budget,
        registry: &Registry,
        facts: &OrgFacts,
        vars: &IndexMap<String, String>,
        check_mode: bool,
    ) -> Result<(), PlaybookError> {
        let mut scope = Scope::new();
        let mut org = rhai::serde::to_dynamic(facts).unwrap_or(Dynamic::UNIT);
        if let Some(mut map) = org.write_lock::<rhai::Map>() {
            map.insert("check_mode".into(), check_mode.into());
        }
        scope.push_constant("org", org);
        let vars: rhai::Map = vars.iter().map(|(k, v)| (k.as_str().into(), Dynamic::from(v.clone()))).collect();
        scope.push_constant("vars", vars);
        // A note left by an `exit` of an earlier pass is not this pass's.
        budget.take_exit();
        engine.run_ast_with_scope(&mut scope, &self.ast).map_err(|err| {
            let steps: Vec<&str> = registry.names().collect();
            diagnose(&err, &self.sources, &self.name, &steps)
        })?;
        match budget.take_exit() {
            Some(exit) if !sandbox::is_success_exit(&exit.value) => {
                let value = cut_line(&exit.value.to_string(), 200);
                let mut error =
                    PlaybookError::plain("runner::playbook::exit", format!("the playbook ended with exit({value})"));
                error.help = Some(
                    "`exit()` or `exit(0)` ends a playbook successfully; any other value ends it as a failure".into(),
                );
                let source = exit.source.unwrap_or_else(|| self.name.clone());
                error.location = Location::at(&self.sources, &source, exit.pos).map(Box::new);
                Err(error)
            }
            _ => Ok(()),
        }
    }

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
                        if !SF_FUNCTIONS.contains(&name) {
                            findings.push(at(
                                format!("`sf::{name}` is not a function of the sf module"),
                                Some(format!("the sf module has: {}", SF_FUNCTIONS.join(", "))),
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
    // Keywords the parser turns into calls.
    for keyword in [
        "print",
        "debug",
        "type_of",
        "Fn",
        "call",
        "curry",
        "is_def_var",
        "is_def_fn",
        "is_shared",
        "step",
        "with_check_mode",
    ] {
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

/// Where in which file.
#[derive(Debug, Clone)]
pub struct Location {
    pub source: String,
    pub line: usize,
    pub column: usize,
    excerpt: Option<Excerpt>,
}

/// The longest message shown: Rhai quotes tokens and values, which can be huge.
const MAX_MESSAGE: usize = 4_000;

/// The longest part of a line a diagnostic shows: one 2 MB line (a huge literal) would
/// otherwise be printed whole.
const MAX_SHOWN_LINE: usize = 160;

/// `text` cut to `max` characters, with an ellipsis when cut.
pub(crate) fn cut_line(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}… ({} characters)", text.chars().take(max).collect::<String>(), text.chars().count())
    }
}

/// The lines around a location, each cut to [`MAX_SHOWN_LINE`], as miette shows them:
/// with the file's own line numbers.
#[derive(Debug, Clone)]
struct Excerpt {
    name: String,
    text: String,
    /// The file's line number of the excerpt's first line, 0-based.
    first_line: usize,
    /// Byte offset and length of the label in `text`.
    label: (usize, usize),
}

impl Excerpt {
    fn new(name: &str, full: &str, line: usize, column: usize) -> Option<Excerpt> {
        let lines: Vec<&str> = full.split_inclusive('\n').collect();
        let index = line.checked_sub(1)?;
        lines.get(index)?;
        let first_line = index.saturating_sub(1);
        let mut text = String::new();
        let mut label = (0, 1);
        for (i, raw) in lines.iter().enumerate().skip(first_line).take(index - first_line + 2) {
            let body = raw.trim_end_matches(['\n', '\r']);
            let chars: Vec<char> = body.chars().collect();
            if i == index {
                // A window around the column, so that the label stays in view.
                let col = column.saturating_sub(1).min(chars.len());
                let start = if chars.len() > MAX_SHOWN_LINE { col.saturating_sub(MAX_SHOWN_LINE / 2) } else { 0 };
                let end = (start + MAX_SHOWN_LINE).min(chars.len());
                let mut shown = String::new();
                if start > 0 {
                    shown.push('…');
                }
                let before: String = chars[start..col.max(start)].iter().collect();
                shown.push_str(&before);
                let rest: String = chars[col.max(start)..end].iter().collect();
                let len = rest
                    .char_indices()
                    .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == ':'))
                    .map(|(i, _)| i)
                    .unwrap_or(rest.trim_end().len())
                    .max(1)
                    .min(rest.trim_end().len().max(1));
                label = (text.len() + shown.len(), len);
                shown.push_str(&rest);
                if end < chars.len() {
                    shown.push_str(&format!("… ({} characters)", chars.len()));
                }
                text.push_str(&shown);
            } else if chars.len() > MAX_SHOWN_LINE {
                text.push_str(&chars[..MAX_SHOWN_LINE].iter().collect::<String>());
                text.push('…');
            } else {
                text.push_str(body);
            }
            text.push('\n');
        }
        Some(Excerpt { name: name.to_string(), text, first_line, label })
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self.text.read_span(span, context_lines_before, context_lines_after)?;
        let contents = miette::MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            inner.column(),
            inner.line_count(),
        )
        .with_language("rhai");
        Ok(Box::new(contents))
    }
}

impl Location {
    fn at(sources: &Sources, source: &str, pos: Position) -> Option<Location> {
        let line = pos.line()?;
        let column = pos.position().unwrap_or(1);
        let excerpt = sources.get(source).and_then(|text| Excerpt::new(source, &text, line, column));
        Some(Location { source: source.to_string(), line, column, excerpt })
    }

    fn offset(&self) -> Option<(usize, usize)> {
        self.excerpt.as_ref().map(|e| e.label)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.source, self.line, self.column)
    }
}

/// A playbook error, rendered by miette at the line in the right `.rhai` file.
#[derive(Debug, Clone)]
pub struct PlaybookError {
    pub code: String,
    pub message: String,
    pub help: Option<String>,
    pub location: Option<Box<Location>>,
    /// Where the failing code was called from, outermost first.
    pub calls: Vec<Location>,
}

impl PlaybookError {
    pub fn plain(code: &str, message: impl Into<String>) -> Self {
        PlaybookError { code: code.into(), message: message.into(), help: None, location: None, calls: Vec::new() }
    }

    pub fn internal(message: String) -> Self {
        PlaybookError::plain("runner::internal", message)
    }

    pub fn info(&self) -> FailureInfo {
        FailureInfo {
            code: self.code.clone(),
            message: self.message.clone(),
            error_code: None,
            fields: Vec::new(),
            hint: self.help.clone(),
            location: self.location.as_ref().map(|l| l.to_string()),
        }
    }
}

impl fmt::Display for PlaybookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PlaybookError {}

impl Diagnostic for PlaybookError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let called_from: Vec<String> = self.calls.iter().map(|c| format!("called from {c}")).collect();
        match (&self.help, called_from.is_empty()) {
            (Some(help), true) => Some(Box::new(help.clone())),
            (Some(help), false) => Some(Box::new(format!("{help}\n{}", called_from.join("\n")))),
            (None, false) => Some(Box::new(called_from.join("\n"))),
            (None, true) => None,
        }
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self.location.as_ref()?.excerpt.as_ref()? as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let location = self.location.as_ref()?;
        let (offset, len) = location.offset()?;
        Some(Box::new(std::iter::once(LabeledSpan::new_primary_with_span(Some("here".into()), (offset, len)))))
    }
}

/// A short plain-text message for an engine error (no location).
pub fn plain_message(err: &EvalAltResult) -> String {
    let (leaf, _) = innermost(err);
    leaf_details(leaf, &[]).1
}

/// Follows nested call and module errors to the one that happened first.
fn innermost(err: &EvalAltResult) -> (&EvalAltResult, Vec<(&str, Position)>) {
    let mut chain = Vec::new();
    let mut current = err;
    loop {
        match current {
            EvalAltResult::ErrorInFunctionCall(_, source, inner, pos) => {
                chain.push((source.as_str(), *pos));
                current = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, pos) => {
                chain.push((name.as_str(), *pos));
                current = inner;
            }
            _ => return (current, chain),
        }
    }
}

/// Turns an engine error into a diagnostic at the innermost location that has one,
/// with the calls that led there.
pub(crate) fn diagnose(err: &EvalAltResult, sources: &Sources, top: &str, step_names: &[&str]) -> PlaybookError {
    // Each wrapper says in which source its inner error happened; the outermost call
    // site is in `top`.
    let mut calls = Vec::new();
    let mut source = top.to_string();
    let mut current = err;
    loop {
        match current {
            EvalAltResult::ErrorInFunctionCall(_, inner_source, inner, pos) => {
                if let Some(loc) = Location::at(sources, &source, *pos) {
                    calls.push(loc);
                }
                if !inner_source.is_empty() {
                    source = inner_source.clone();
                }
                current = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, pos) => {
                if let Some(loc) = Location::at(sources, &source, *pos) {
                    calls.push(loc);
                }
                source = name.clone();
                current = inner;
            }
            _ => break,
        }
    }
    let (code, message, help) = leaf_details(current, step_names);
    let message = cut_line(&message, MAX_MESSAGE);
    let mut location = Location::at(sources, &source, current.position()).map(Box::new);
    if location.is_none() {
        location = calls.pop().map(Box::new);
    }
    PlaybookError { code, message, help, location, calls }
}

fn leaf_details(leaf: &EvalAltResult, step_names: &[&str]) -> (String, String, Option<String>) {
    use EvalAltResult as E;
    let s = |v: &str| v.to_string();
    match leaf {
        E::ErrorParsing(kind, _) => {
            // An invisible character would make the message look empty.
            let kind = kind.to_string().replace('\u{feff}', "U+FEFF (a byte-order mark)");
            (s("runner::playbook::syntax"), format!("syntax error: {kind}"), None)
        }
        E::ErrorTerminated(token, _) => match sandbox::stopped_by(token) {
            Some((kind, limit)) if kind == sandbox::PAST_DEADLINE => (
                s("runner::playbook::timeout"),
                format!("the playbook ran past its deadline ({limit}) and was stopped"),
                Some(s("look for an endless loop; `runner play --timeout` sets the deadline (5m by default)")),
            ),
            Some((_, limit)) => (
                s("runner::playbook::limit"),
                format!(
                    "the playbook hit a safety limit: it ran out of its {limit} operations (the read-ahead, planning and the run share them)"
                ),
                Some(s("look for an endless loop or runaway recursion")),
            ),
            None => (s("runner::playbook::runtime"), leaf.to_string(), None),
        },
        E::ErrorVariableNotFound(name, _) => (
            s("runner::playbook::unknown_variable"),
            format!("unknown variable `{name}`"),
            Some(s("`org` and `vars` are predefined; declare other variables with `let`")),
        ),
        E::ErrorFunctionNotFound(sig, _) => {
            let name = sig.split('(').next().unwrap_or(sig).trim();
            if step_names.contains(&name) {
                (
                    s("runner::playbook::bad_argument"),
                    format!("{name} takes one object map: {sig} does not fit"),
                    Some(format!("`runner steps {name}` lists its parameters")),
                )
            } else {
                (
                    s("runner::playbook::unknown_function"),
                    format!("unknown function or step: {sig}"),
                    Some(s("`runner steps` lists the steps; `runner check` finds these before a run")),
                )
            }
        }
        E::ErrorModuleNotFound(what, _) => (
            s("runner::playbook::module_not_found"),
            format!("cannot import {what}"),
            Some(s("modules are loaded from the playbook's own folder, e.g. import \"lib/acme\" as acme;")),
        ),
        E::ErrorRuntime(value, _) => match value.clone().try_cast::<rhai::Map>() {
            Some(map) if map.contains_key("code") => {
                let get = |k: &str| map.get(k).map(|v| v.to_string()).filter(|v| !v.is_empty() && v != "()");
                let step = get("step");
                let message = get("message").unwrap_or_default();
                let message = match step {
                    Some(step) if !message.starts_with(&format!("{step}:")) => format!("{step}: {message}"),
                    _ => message,
                };
                let mut help = get("hint");
                if let Some(code) = get("error_code") {
                    let note = format!("Salesforce error code: {code}");
                    help = Some(match help {
                        Some(h) => format!("{h}\n{note}"),
                        None => note,
                    });
                }
                (get("code").unwrap_or_else(|| s("runner::playbook::thrown")), message, help)
            }
            _ => (s("runner::playbook::thrown"), format!("the playbook threw: {value}"), None),
        },
        E::ErrorTooManyOperations(_)
        | E::ErrorTooManyVariables(_)
        | E::ErrorTooManyModules(_)
        | E::ErrorStackOverflow(_)
        | E::ErrorDataTooLarge(..) => (
            s("runner::playbook::limit"),
            format!("the playbook hit a safety limit: {leaf}"),
            Some(s("look for an endless loop or runaway recursion")),
        ),
        other => (s("runner::playbook::runtime"), other.to_string(), None),
    }
}
