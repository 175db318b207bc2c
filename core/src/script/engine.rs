//! The hardened Rhai engine: bounded operations, depth and sizes, strict variables, no
//! `eval`, imports confined to the playbook's folder; and the compiled [`Playbook`].

use std::collections::HashMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use rhai::{AST, Dynamic, Engine, EvalAltResult, GlobalRuntimeState, Module, ModuleResolver, Position, Scope, Shared};

type SharedModule = Shared<Module>;

use crate::diagnostic::{Location, PlaybookError, Sources, cut_line, diagnose};
use crate::facts::OrgFacts;
use crate::sandbox::{self, Budget};
use crate::step::Registry;

/// Where a playbook and the modules it imports come from.
#[derive(Debug, Clone)]
pub enum PlaybookRoot {
    /// A folder on disk. What is read resolves inside it and nowhere else.
    Dir { dir: PathBuf },
    /// Playbooks built into the binary: (path, text), and the folder (`""` or
    /// `"examples/"`) that plays the role of the playbook's own folder.
    Embedded { files: &'static [(&'static str, &'static str)], dir: String },
}

/// The biggest playbook or module read: reading an endless file (a device file in the
/// folder) must end. Far above any playbook, and above Rhai's 1 MiB string limit, so that a
/// file with a huge literal is still compiled and the literal named at its line.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// What looking a path up in one root found.
pub(crate) enum Lookup {
    /// (display name, text).
    Found(String, String),
    /// Not in this root: where it was looked for, for the message listing every root.
    Missing(String),
    /// There, but refused (a link out of the root, a folder, too big, unreadable): the
    /// search stops, since a later root's file of that name is not what was meant.
    Refused(String),
}

impl PlaybookRoot {
    /// Reads `rel` (a path relative to the root): (display name, text).
    pub(crate) fn read(&self, rel: &str) -> Result<(String, String), String> {
        match self.lookup(rel) {
            Lookup::Found(name, text) => Ok((name, text)),
            Lookup::Missing(display) => Err(format!("{display} does not exist")),
            Lookup::Refused(why) => Err(why),
        }
    }

    /// Looks `rel` (a path relative to the root) up.
    pub(crate) fn lookup(&self, rel: &str) -> Lookup {
        match self {
            PlaybookRoot::Dir { dir } => {
                let candidate = dir.join(rel);
                let display = candidate.strip_prefix(".").unwrap_or(&candidate).display().to_string();
                let Ok(root) = dir.canonicalize() else {
                    return Lookup::Missing(format!("{display} (no folder {})", dir.display()));
                };
                // A dangling link is refused below rather than reported as missing: it is
                // there, pointing somewhere it should not.
                if std::fs::symlink_metadata(&candidate).is_err() {
                    return Lookup::Missing(display);
                }
                let Ok(real) = candidate.canonicalize() else {
                    return Lookup::Refused(format!("{display} is a link to nothing"));
                };
                if !real.starts_with(&root) {
                    return Lookup::Refused(format!("{display} leads outside its folder {}", dir.display()));
                }
                if real.is_dir() {
                    return Lookup::Refused(format!("{display} is a folder, not a playbook file"));
                }
                match read_capped(&real) {
                    Ok(text) => Lookup::Found(display, without_bom(text)),
                    Err(why) => Lookup::Refused(format!("cannot read {display}: {why}")),
                }
            }
            PlaybookRoot::Embedded { files, dir } => {
                let path = format!("{dir}{rel}");
                match files.iter().find(|(name, _)| *name == path) {
                    Some((name, text)) => Lookup::Found(format!("{name} (built in)"), without_bom(text.to_string())),
                    None => Lookup::Missing(format!("{path} (built in)")),
                }
            }
        }
    }
}

/// Reads a file of at most [`MAX_FILE_BYTES`].
fn read_capped(path: &Path) -> Result<String, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1).read_to_string(&mut text).map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("it is larger than {} KiB", MAX_FILE_BYTES / 1024));
    }
    Ok(text)
}

/// Finds the module `rel` in the first of `search` that has it: (display name, text), or
/// why not, listing every place looked in.
pub(crate) fn find_module(search: &[PlaybookRoot], rel: &str) -> Result<(String, String), String> {
    let mut looked = Vec::new();
    for root in search {
        match root.lookup(rel) {
            Lookup::Found(name, text) => return Ok((name, text)),
            Lookup::Refused(why) => return Err(why),
            Lookup::Missing(place) => looked.push(place),
        }
    }
    Err(format!("not found; looked for {}", looked.join(", ")))
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
pub(crate) fn import_path(path: &str) -> Result<String, String> {
    let with_ext = if path.ends_with(".rhai") { path.to_string() } else { format!("{path}.rhai") };
    let p = Path::new(&with_ext);
    let inside = !path.is_empty()
        && p.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        && !path.contains('\\');
    if inside { Ok(with_ext) } else { Err(format!("`{path}` is not a path inside the playbook's folder")) }
}

/// Loads `import`ed modules from the first root of the search path that has them, and
/// from nowhere else, remembering their text.
struct ConfinedResolver {
    /// The playbook's own root, then the library roots, in order.
    search: Vec<PlaybookRoot>,
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
        let (name, text) = find_module(&self.search, &rel).map_err(not_found)?;
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

pub(crate) const IMPORT_CYCLE_HINT: &str =
    "a module may not import, directly or not, a module that imports it; move what both need into a third module";

/// `a.rhai → b.rhai → a.rhai` when importing `rel` from the innermost of `stack` closes
/// a cycle.
pub(crate) fn cycle(stack: &[String], rel: &str) -> Option<String> {
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
pub(crate) fn constants_scope_for_compile() -> Scope<'static> {
    let mut scope = Scope::new();
    scope.push("org", rhai::Map::new());
    scope.push("vars", rhai::Map::new());
    scope
}

/// Builds the hardened engine: bounded operations (shared by every pass of a run, see
/// [`Budget`]), wall time, depth and sizes; strict variables; no `eval`, no `sleep`;
/// imports confined to the roots of `search`.
pub(crate) fn hardened_engine(
    search: &[PlaybookRoot],
    sources: &Arc<Sources>,
    entry: &str,
    budget: &Arc<Budget>,
) -> Engine {
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
            search: search.to_vec(),
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
    pub(crate) name: String,
    /// Its path relative to its own root, `search[0]`.
    pub(crate) entry: String,
    /// Where its imports are looked for, in order: its own root, then the library roots.
    pub(crate) search: Vec<PlaybookRoot>,
    pub(crate) ast: AST,
    pub(crate) sources: Arc<Sources>,
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
        let search = vec![root];
        let engine = hardened_engine(&search, &sources, entry, &Budget::new(sandbox::Limits::default()));
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
        Ok(Playbook { name, entry: entry.to_string(), search, ast, sources })
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

    /// Adds library roots to look for imports in, after the playbook's own folder and
    /// any added before. Imports resolve when the playbook runs, so this may follow loading.
    pub fn with_lib(mut self, lib: impl IntoIterator<Item = PlaybookRoot>) -> Playbook {
        self.search.extend(lib);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The hardened engine, counting against `budget`, with functions registered by `register`.
    pub(crate) fn engine_with(&self, budget: &Arc<Budget>, register: impl FnOnce(&mut Engine)) -> Engine {
        let mut engine = hardened_engine(&self.search, &self.sources, &self.entry, budget);
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
}
