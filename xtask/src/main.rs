//! `cargo xtask <command>`: the project's automation, so the README's two commands work on a fresh
//! machine. Every install step checks first and installs only what is missing.
//!
//!   setup   install the toolchain pieces (wasm32 target, wasm-bindgen CLI, npm tools, Chromium)
//!   sdk     build the npm package into sdk-wasm/pkg/
//!   build   sdk + storefront into storefront/dist/
//!   demo    setup, build, and run the local stack (`shopstream serve`); extra args go to serve
//!   package build what the CDK app deploys into infra/build/: the Lambdas (arm64, cargo-lambda with
//!           zig), the storefront and the catalog's static files
//!   infra   the CDK app's checks alone (its tests, cdk synth of dev and prod, cfn-lint)
//!   test    setup, build, and run every test (Rust, browser, infrastructure); ends with
//!           "tests: N passed, M failed"

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
const WASM_PROFILE: &str = "wasm-release";
/// Where `cargo xtask build` inlines the SDK's snippet in the storefront's page.
/// Keep in step with `testkit::MOTO_VERSION`.
const MOTO_VERSION: &str = "5.2.5";
const WASM_PLACEHOLDER: &str = "\"__WASM_BYTES__\"";
const WASM_LENGTH_PLACEHOLDER: &str = "\"__WASM_LENGTH__\"";
const SNIPPET_MARKER: &str = "<!-- shopstream:snippet -->";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let ws = Workspace::locate()?;
    match args.first().map(String::as_str) {
        Some("setup") => ws.setup(Browser::Install),
        Some("sdk") => {
            ws.setup(Browser::Skip)?;
            ws.build_sdk()
        }
        Some("build") => {
            ws.setup(Browser::Skip)?;
            ws.build_sdk()?;
            ws.build_storefront()
        }
        Some("demo") => ws.demo(rest),
        Some("package") => {
            ws.setup(Browser::Skip)?;
            ws.build_sdk()?;
            ws.build_storefront()?;
            ws.package(&ws.root.join("infra/build"), Lambdas::Build)
        }
        Some("test") => ws.test(),
        Some("infra") => {
            ws.setup(Browser::Skip)?;
            ws.build_sdk()?;
            ws.build_storefront()?;
            let mut tally = Tally::default();
            let ok = ws.test_infra(&mut tally)?;
            println!("tests: {} passed, {} failed", tally.passed, tally.failed);
            if !ok || tally.failed > 0 {
                bail!("the infrastructure checks failed");
            }
            Ok(())
        }
        _ => {
            eprintln!("usage: cargo xtask <setup|sdk|build|demo|package|infra|test>");
            std::process::exit(2);
        }
    }
}

/// The Lambda binaries the CDK app deploys: (cargo package, `[[bin]]` name).
const LAMBDAS: [(&str, &str); 4] = [
    ("ingest-lambda", "ingest-lambda"),
    ("processor-lambda", "processor"),
    ("recs-lambda", "recommendations"),
    ("lake-lambda", "lake-build"),
];
const LAMBDA_TARGET: &str = "aarch64-unknown-linux-gnu";
/// cargo-lambda and zig (PyPI), pinned: what `package` cross-compiles the Lambdas with.
const CARGO_LAMBDA: &str = "cargo-lambda==1.9.2";
const ZIGLANG: &str = "ziglang==0.17.1";
/// cfn-lint (PyPI), pinned: the CI's lint of the synthesized templates.
const CFN_LINT: &str = "cfn-lint==1.58.0";

/// Whether `package` builds the Lambdas or writes stand-ins. The CI's synth checks the
/// infrastructure, not the binaries, and writes its stand-ins under the target dir only, never
/// into `infra/build/` (what a deploy takes by default); each stand-in exits 1 saying what it is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lambdas {
    Build,
    StandIn,
}

/// Whether `setup` installs Chromium (only the browser tests need it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Browser {
    Install,
    Skip,
}

struct Workspace {
    root: PathBuf,
    target: PathBuf,
    /// Tools installed by `setup` that cargo builds (wasm-bindgen-cli): `$SHOPSTREAM_CACHE` or
    /// `~/.cache/shopstream`, outside the clone so a kept machine reuses them.
    tools: PathBuf,
}

impl Workspace {
    fn locate() -> Result<Self> {
        // `cargo run` sets CARGO_MANIFEST_DIR for the process; the compile-time value is the fallback
        // (it names the clone that built this binary, which may not be the one running it).
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        let root = manifest_dir.parent().context("xtask has no parent dir")?.to_path_buf();
        let out = Command::new(cargo())
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(&root)
            .output()
            .context("cargo metadata")?;
        if !out.status.success() {
            bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let target = PathBuf::from(meta["target_directory"].as_str().context("no target_directory")?);
        let cache = match std::env::var_os("SHOPSTREAM_CACHE") {
            Some(dir) => PathBuf::from(dir),
            None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?).join(".cache/shopstream"),
        };
        Ok(Workspace { root, target, tools: cache.join("tools") })
    }

    fn wasm_bindgen(&self) -> PathBuf {
        self.tools.join("bin/wasm-bindgen")
    }

    fn npm_bin(&self, tool: &str) -> PathBuf {
        self.root.join("e2e/node_modules/.bin").join(tool)
    }

    // ---- setup ---------------------------------------------------------------------------------

    fn setup(&self, browser: Browser) -> Result<()> {
        let started = Instant::now();
        let installed = capture("rustup", &["target", "list", "--installed"]).unwrap_or_default();
        if !installed.lines().any(|l| l.trim() == WASM_TARGET) {
            step(&format!("installing the {WASM_TARGET} target"));
            run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
        }

        if capture(&cargo(), &["fmt", "--version"]).is_none() {
            step("installing rustfmt");
            run(Command::new("rustup").args(["component", "add", "rustfmt"]))?;
        }

        let wanted = self.locked_version("wasm-bindgen")?;
        let have = capture(&self.wasm_bindgen().to_string_lossy(), &["--version"]).unwrap_or_default();
        if have.split_whitespace().nth(1) != Some(wanted.as_str()) {
            step(&format!("installing wasm-bindgen-cli {wanted} (matches Cargo.lock; takes a few minutes once)"));
            // No --locked: the CLI's shipped lockfile pins a crate the registry no longer serves.
            run(Command::new(cargo())
                .args(["install", "wasm-bindgen-cli", "--version", &wanted, "--root"])
                .arg(&self.tools))?;
        }

        if capture("node", &["--version"]).is_none() || capture("npm", &["--version"]).is_none() {
            apt_install(&["nodejs", "npm"])?;
        }
        let lock = self.root.join("e2e/package-lock.json");
        let stamp = self.root.join("e2e/node_modules/.shopstream-lock");
        let lock_bytes = std::fs::read(&lock).context("e2e/package-lock.json")?;
        if std::fs::read(&stamp).ok().as_deref() != Some(&lock_bytes[..]) {
            step("installing npm tools (binaryen's wasm-opt, esbuild, playwright-core) into e2e/node_modules");
            run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(self.root.join("e2e")))?;
            std::fs::write(&stamp, &lock_bytes)?;
        }

        if browser == Browser::Install
            && (!Path::new("/usr/bin/chromium").exists() || !Path::new("/usr/bin/chromedriver").exists())
        {
            apt_install(&["chromium", "chromium-driver"])?;
        }
        if browser == Browser::Install {
            self.install_moto()?;
        }
        eprintln!("xtask: setup ok ({:.0?})", started.elapsed());
        Ok(())
    }

    /// moto (the AWS emulator the tests start) in a virtualenv under the cache, at testkit's version.
    fn install_moto(&self) -> Result<()> {
        let venv = self.moto_venv();
        let pip = venv.join("bin/pip");
        let have = capture(&pip.to_string_lossy(), &["show", "moto"]).unwrap_or_default();
        if venv.join("bin/moto_server").exists() && have.lines().any(|l| l == format!("Version: {MOTO_VERSION}")) {
            return Ok(());
        }
        step(&format!("installing moto {MOTO_VERSION} (the AWS emulator the tests start) into {}", venv.display()));
        if capture("python3", &["-c", "import venv, ensurepip"]).is_none() {
            apt_install(&["python3-venv"])?;
        }
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
        run(Command::new(&pip)
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("moto[server]=={MOTO_VERSION}")))
    }

    /// A Python tool in its own virtualenv under the cache (`~/.cache/shopstream/<name>`), at the
    /// pinned `requirements`; returns the venv's `bin/`.
    fn python_tool(&self, name: &str, requirements: &[&str]) -> Result<PathBuf> {
        let venv = self.tools.parent().unwrap_or(&self.tools).join(name);
        let stamp = venv.join(".shopstream-requirements");
        let want = requirements.join("\n");
        if std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
            return Ok(venv.join("bin"));
        }
        step(&format!("installing {} into {}", requirements.join(" "), venv.display()));
        if capture("python3", &["-c", "import venv, ensurepip"]).is_none() {
            apt_install(&["python3-venv"])?;
        }
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
        run(Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(requirements))?;
        std::fs::write(&stamp, want)?;
        Ok(venv.join("bin"))
    }

    fn moto_venv(&self) -> PathBuf {
        self.tools.parent().unwrap_or(&self.tools).join("moto")
    }

    fn locked_version(&self, package: &str) -> Result<String> {
        let lock = std::fs::read_to_string(self.root.join("Cargo.lock")).context("Cargo.lock")?;
        let needle = format!("name = \"{package}\"\nversion = \"");
        let at = lock.find(&needle).with_context(|| format!("{package} is not in Cargo.lock"))? + needle.len();
        Ok(lock[at..].split('"').next().unwrap_or_default().to_string())
    }

    // ---- builds --------------------------------------------------------------------------------

    fn wasm_build(&self, package: &str, artifact: &str) -> Result<PathBuf> {
        step(&format!("building {package} for {WASM_TARGET}"));
        run(Command::new(cargo())
            .args(["build", "-p", package, "--target", WASM_TARGET, "--profile", WASM_PROFILE])
            .current_dir(&self.root))?;
        Ok(self.target.join(WASM_TARGET).join(WASM_PROFILE).join(format!("{artifact}.wasm")))
    }

    /// wasm-bindgen (web target) then wasm-opt -Oz from npm's binaryen (Debian's corrupts the output).
    fn bindgen_and_opt(&self, wasm: &Path, out_dir: &Path, stem: &str) -> Result<()> {
        std::fs::create_dir_all(out_dir)?;
        run(Command::new(self.wasm_bindgen())
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(out_dir)
            .arg(wasm))?;
        let bg = out_dir.join(format!("{stem}_bg.wasm"));
        run(Command::new(self.npm_bin("wasm-opt"))
            .args(["-Oz", "--strip-producers", "--strip-target-features"])
            .arg(&bg)
            .arg("-o")
            .arg(&bg))?;
        Ok(())
    }

    /// The npm package: the wasm, and one minified `index.js` bundling the JS shell
    /// (`sdk-wasm/js/index.js`) with wasm-bindgen's glue.
    fn build_sdk(&self) -> Result<()> {
        let wasm = self.wasm_build("shopstream-sdk", "shopstream_sdk")?;
        let pkg = self.root.join("sdk-wasm/pkg");
        let _ = std::fs::remove_dir_all(&pkg);
        self.bindgen_and_opt(&wasm, &pkg, "shopstream_sdk")?;
        let js = self.root.join("sdk-wasm/js");
        let version = self.package_version()?;
        let shell = pkg.join("shell.js");
        for (from, to) in
            [("index.js", &shell), ("index.d.ts", &pkg.join("index.d.ts")), ("README.md", &pkg.join("README.md"))]
        {
            let text = std::fs::read_to_string(js.join(from)).with_context(|| format!("read {from}"))?;
            std::fs::write(to, text.replace("__VERSION__", &version))?;
        }
        self.esbuild(&shell, &["--bundle", "--format=esm"], &pkg.join("index.js"))?;
        // The engine travels inside index.js as a string of its bytes (after esbuild, which would
        // escape them): no second request, and it compiles synchronously when the module loads.
        let bundle = std::fs::read_to_string(pkg.join("index.js"))?;
        let wasm_bytes = std::fs::read(pkg.join("shopstream_sdk_bg.wasm"))?;
        for placeholder in [WASM_PLACEHOLDER, WASM_LENGTH_PLACEHOLDER] {
            if bundle.matches(placeholder).count() != 1 {
                bail!("the bundled index.js must hold {placeholder} exactly once (see sdk-wasm/js/index.js)");
            }
        }
        let bundle = bundle
            .replace(WASM_PLACEHOLDER, &js_byte_string(&wasm_bytes))
            .replace(WASM_LENGTH_PLACEHOLDER, &wasm_bytes.len().to_string());
        std::fs::write(pkg.join("index.js"), bundle)?;
        std::fs::remove_file(&shell)?;
        std::fs::remove_file(pkg.join("shopstream_sdk.js"))?;
        self.esbuild(&js.join("snippet.js"), &[], &pkg.join("snippet.min.js"))?;
        // The <shopstream-recs> widget: a file of its own, loaded only by pages that show it.
        self.esbuild(&js.join("widget.js"), &["--format=esm"], &pkg.join("widget.js"))?;
        std::fs::copy(js.join("widget.d.ts"), pkg.join("widget.d.ts"))?;
        let manifest = std::fs::read_to_string(js.join("package.json"))?
            .replace("\"version\": \"0.0.0\"", &format!("\"version\": \"{version}\""));
        std::fs::write(pkg.join("package.json"), manifest)?;
        let (wasm_raw, wasm_gz) = sizes(&pkg.join("shopstream_sdk_bg.wasm"))?;
        let (js_raw, js_gz) = sizes(&pkg.join("index.js"))?;
        let (snippet_raw, snippet_gz) = sizes(&pkg.join("snippet.min.js"))?;
        let (widget_raw, widget_gz) = sizes(&pkg.join("widget.js"))?;
        eprintln!(
            "xtask: sdk-wasm/pkg built: index.js {js_raw} B ({js_gz} B gzip-9), the engine's wasm ({wasm_raw} B, {wasm_gz} B gzip-9) inlined in it; snippet {snippet_raw} B ({snippet_gz} B gzip-9); widget.js {widget_raw} B ({widget_gz} B gzip-9)"
        );
        Ok(())
    }

    /// Minifies `input` (ES2020) into `output` with npm's esbuild, plus any `extra` flags.
    fn esbuild(&self, input: &Path, extra: &[&str], output: &Path) -> Result<()> {
        run(Command::new(self.npm_bin("esbuild"))
            .arg(input)
            .args(extra)
            .args(["--minify", "--target=es2020", "--log-level=warning"])
            .arg(format!("--outfile={}", output.display())))
    }

    fn build_storefront(&self) -> Result<()> {
        let wasm = self.wasm_build("storefront", "storefront")?;
        let dist = self.root.join("storefront/dist");
        let _ = std::fs::remove_dir_all(&dist);
        self.bindgen_and_opt(&wasm, &dist, "storefront")?;
        // The page loads the tracker the way the README tells shops to: the snippet, inline.
        let snippet = std::fs::read_to_string(self.root.join("sdk-wasm/pkg/snippet.min.js"))?;
        let snippet = format!("<script>{}</script>", snippet.trim().replace("\"SRC\"", "\"/sdk/index.js\""));
        let page = std::fs::read_to_string(self.root.join("storefront/index.html"))?;
        if !page.contains(SNIPPET_MARKER) {
            bail!("storefront/index.html lacks the {SNIPPET_MARKER} line");
        }
        std::fs::write(dist.join("index.html"), page.replace(SNIPPET_MARKER, &snippet))?;
        copy_dir(&self.root.join("storefront/static"), &dist)?;
        copy_dir(&self.root.join("sdk-wasm/pkg"), &dist.join("sdk"))?;
        eprintln!("xtask: storefront built into {}", dist.display());
        Ok(())
    }

    /// What the CDK app deploys, into `out` (see infra/lib/artifacts.ts): `lambda/<bin>/bootstrap`,
    /// `site/` (the built storefront and the product images), `catalog/v1/products/<sku>` and
    /// `catalog-list.json` (the object `v1/products`). The storefront must be built already.
    fn package(&self, out: &Path, lambdas: Lambdas) -> Result<()> {
        let started = Instant::now();
        for dir in ["site", "catalog", "lambda"] {
            let _ = std::fs::remove_dir_all(out.join(dir));
        }
        let dist = self.root.join("storefront/dist");
        anyhow::ensure!(dist.join("index.html").is_file(), "{} is not built (cargo xtask build)", dist.display());
        copy_dir(&dist, &out.join("site"))?;
        for file in catalog::static_files() {
            let path = if file.path == "v1/products" {
                out.join("catalog-list.json")
            } else if file.path.starts_with("v1/") {
                out.join("catalog").join(&file.path)
            } else {
                out.join("site").join(&file.path)
            };
            std::fs::create_dir_all(path.parent().context("a file has a folder")?)?;
            std::fs::write(&path, &file.body)?;
        }
        match lambdas {
            Lambdas::StandIn => {
                for (_, bin) in LAMBDAS {
                    let dir = out.join("lambda").join(bin);
                    std::fs::create_dir_all(&dir)?;
                    std::fs::write(
                        dir.join("bootstrap"),
                        "#!/bin/sh\necho 'a stand-in for the synth check: build the Lambdas with cargo xtask package' >&2\nexit 1\n",
                    )?;
                }
            }
            Lambdas::Build => {
                let bin = self.python_tool("cargo-lambda", &[CARGO_LAMBDA, ZIGLANG])?;
                let installed = capture("rustup", &["target", "list", "--installed"]).unwrap_or_default();
                if !installed.lines().any(|l| l.trim() == LAMBDA_TARGET) {
                    step(&format!("installing the {LAMBDA_TARGET} target"));
                    run(Command::new("rustup").args(["target", "add", LAMBDA_TARGET]))?;
                }
                step("building the Lambdas for arm64 (cargo lambda build --release --arm64; many minutes the first time)");
                let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
                let mut cmd = Command::new(cargo());
                cmd.args(["lambda", "build", "--release", "--arm64", "--lambda-dir"]).arg(out.join("lambda"));
                for (package, _) in LAMBDAS {
                    cmd.args(["-p", package]);
                }
                run(cmd.env("PATH", path).current_dir(&self.root))?;
                for (_, bin) in LAMBDAS {
                    let bootstrap = out.join("lambda").join(bin).join("bootstrap");
                    let bytes = std::fs::metadata(&bootstrap).with_context(|| bootstrap.display().to_string())?.len();
                    eprintln!("xtask: {bin}: {:.1} MiB", bytes as f64 / (1024.0 * 1024.0));
                }
            }
        }
        eprintln!("xtask: packaged into {} ({:.0?})", out.display(), started.elapsed());
        Ok(())
    }

    /// The CDK app's checks: its tests (node --test, counted), `cdk synth` of both environments from
    /// the real storefront and catalog with stand-in Lambdas, and cfn-lint on every template.
    fn test_infra(&self, tally: &mut Tally) -> Result<bool> {
        let infra = self.root.join("infra");
        let lock = infra.join("package-lock.json");
        let stamp = infra.join("node_modules/.shopstream-lock");
        let lock_bytes = std::fs::read(&lock).context("infra/package-lock.json")?;
        if std::fs::read(&stamp).ok().as_deref() != Some(&lock_bytes[..]) {
            step("installing the CDK app's packages (aws-cdk-lib, cdk-nag, the CDK CLI, TypeScript) into infra/node_modules");
            run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&infra))?;
            std::fs::write(&stamp, &lock_bytes)?;
        }
        let lint = self.python_tool("cfn-lint", &[CFN_LINT])?;
        step("infrastructure: tsc, node --test infra/ (aws-cdk-lib assertions, cdk-nag)");
        let _ = std::fs::remove_dir_all(infra.join("dist"));
        run(Command::new(infra.join("node_modules/.bin/tsc")).args(["-p", "."]).current_dir(&infra))?;
        let tests_ok = tally
            .run(Command::new("node").args(["--test", "--test-reporter=tap", "dist/test/"]).current_dir(&infra))?;

        let out = self.target.join("infra-ci");
        self.package(&out, Lambdas::StandIn)?;
        let mut templates = Vec::new();
        for env in ["dev", "prod"] {
            step(&format!("infrastructure: cdk synth -c env={env} (offline, no credentials)"));
            let assembly = out.join(format!("cdk.out.{env}"));
            let _ = std::fs::remove_dir_all(&assembly);
            run(Command::new(infra.join("node_modules/.bin/cdk"))
                .args(["synth", "--quiet", "--no-notices", "--no-version-reporting", "-c"])
                .arg(format!("env={env}"))
                .arg("-c")
                .arg(format!("artifacts={}", out.display()))
                .arg("-o")
                .arg(&assembly)
                .env("CDK_DISABLE_VERSION_CHECK", "1")
                .env("CDK_DISABLE_CLI_TELEMETRY", "true")
                .env_remove("AWS_PROFILE")
                .env_remove("CDK_DEFAULT_ACCOUNT")
                .env_remove("CDK_DEFAULT_REGION")
                .current_dir(&infra))?;
            for entry in std::fs::read_dir(&assembly)? {
                let path = entry?.path();
                if path.to_string_lossy().ends_with(".template.json") {
                    templates.push(path);
                }
            }
        }
        anyhow::ensure!(templates.len() == 6, "expected 3 stacks per environment, got {templates:?}");
        step("infrastructure: cfn-lint on the synthesized templates");
        // Ignored, both written by CDK itself: W3005 (a DependsOn a Ref already implies, on every
        // role's default policy) and W3045 (the access-log bucket's ACL, which CloudFront's
        // standard logs still need).
        run(Command::new(lint.join("cfn-lint")).args(["--ignore-checks", "W3005", "W3045", "--"]).args(&templates))?;
        Ok(tests_ok)
    }

    fn package_version(&self) -> Result<String> {
        let manifest = std::fs::read_to_string(self.root.join("Cargo.toml"))?;
        let section = manifest.split("[workspace.package]").nth(1).context("no [workspace.package]")?;
        let line = section.lines().find(|l| l.starts_with("version")).context("no version")?;
        Ok(line.split('"').nth(1).context("bad version")?.to_string())
    }

    // ---- the two README commands -----------------------------------------------------------------

    fn demo(&self, serve_args: &[String]) -> Result<()> {
        self.setup(Browser::Skip)?;
        self.build_sdk()?;
        self.build_storefront()?;
        step("building the shopstream server (release)");
        run(Command::new(cargo()).args(["build", "--release", "-p", "shopstream"]).current_dir(&self.root))?;
        let bin = self.target.join("release/shopstream");
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--site", "storefront/dist", "--data", ".shopstream/data"]);
        // Sign-in against a user pool in moto's Cognito, unless the caller configures their own.
        let _moto = if serve_args.iter().any(|a| a.starts_with("--cognito")) {
            None
        } else {
            match self.demo_user_pool() {
                Ok((moto, pool)) => {
                    cmd.args(["--cognito-pool-id", &pool.pool_id, "--cognito-client-id", &pool.client_id])
                        .args(["--cognito-endpoint", &moto.url])
                        .args(["--demo-account", &format!("{}:{}", pool.username, pool.password)]);
                    eprintln!(
                        "xtask: shoppers sign in against moto's Cognito at {} (demo account {})",
                        moto.url, pool.username
                    );
                    Some(moto)
                }
                Err(e) => {
                    eprintln!("xtask: warning: no demo user pool ({e:#}); the shop runs with sign-in disabled");
                    None
                }
            }
        };
        cmd.args(serve_args).current_dir(&self.root);
        // A first run (no event log yet) gets simulated shoppers, so the first visit shows
        // recommendations with neighbours and a dashboard with figures.
        let fresh =
            !serve_args.iter().any(|a| a == "--data") && !self.root.join(".shopstream/data/events.sqlite3").exists();
        eprintln!("xtask: starting the local stack; stop it with Ctrl-C");
        let mut server = cmd.stdout(Stdio::piped()).spawn().context("cannot start shopstream")?;
        let mut lines = BufReader::new(server.stdout.take().context("no stdout")?).lines();
        if let Some(Ok(line)) = lines.next() {
            println!("{line}");
            let url = line.split_whitespace().find(|w| w.starts_with("http://")).map(str::to_owned);
            if let (true, Some(url)) = (fresh, url) {
                let seeded = Command::new("node")
                    .arg(self.root.join("scripts/demo-traffic.mjs"))
                    .arg(&url)
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false);
                if !seeded {
                    eprintln!("xtask: warning: no simulated shoppers; the shop starts with no history");
                }
            }
        }
        // Keep echoing what the server prints until it stops.
        for line in lines.map_while(Result::ok) {
            println!("{line}");
        }
        let status = server.wait()?;
        if !status.success() {
            bail!("shopstream serve exited with {status}");
        }
        Ok(())
    }

    /// Starts moto on a free port (stopped when the returned guard drops, or with this process on
    /// Ctrl-C) and creates the demo user pool in it with `scripts/cognito-demo.mjs`.
    fn demo_user_pool(&self) -> Result<(Moto, DemoPool)> {
        self.install_moto()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(self.moto_venv().join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("cannot start moto_server")?;
        let moto = Moto { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("moto did not start within 30 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let out = Command::new("node")
            .arg(self.root.join("scripts/cognito-demo.mjs"))
            .arg(&moto.url)
            .stderr(std::process::Stdio::inherit())
            .output()
            .context("cannot run node scripts/cognito-demo.mjs")?;
        if !out.status.success() {
            bail!("scripts/cognito-demo.mjs failed");
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |name: &str| -> Result<String> {
            let key = format!("\"{name}\":\"");
            let at = text.find(&key).with_context(|| format!("no {name} in {text}"))? + key.len();
            Ok(text[at..].split('"').next().unwrap_or_default().to_string())
        };
        let pool = DemoPool {
            pool_id: field("poolId")?,
            client_id: field("clientId")?,
            username: field("username")?,
            password: field("password")?,
        };
        Ok((moto, pool))
    }

    fn test(&self) -> Result<()> {
        let started = Instant::now();
        self.setup(Browser::Install)?;
        step("formatting and lints (cargo fmt --check, cargo clippy -D warnings)");
        run(Command::new(cargo()).args(["fmt", "--all", "--check"]).current_dir(&self.root))?;
        run(Command::new(cargo())
            .args(["clippy", "--workspace", "--exclude", "storefront", "--all-targets", "--", "-D", "warnings"])
            .current_dir(&self.root))?;
        let mut tally = Tally::default();
        step("Rust tests (cargo test --workspace, less the storefront: it is browser-only)");
        let rust_ok = tally.run(
            Command::new(cargo())
                .args(["test", "--workspace", "--exclude", "storefront"])
                .env("SHOPSTREAM_MOTO_SERVER", self.moto_venv().join("bin/moto_server"))
                .current_dir(&self.root),
        )?;

        self.build_sdk()?;
        self.build_storefront()?;
        // Before the browser tests: e2e/tests/csp.test.mjs loads the storefront under the CDK app's
        // policy (infra/dist).
        let infra_ok = self.test_infra(&mut tally)?;
        step("browser tests (node --test e2e/, headless Debian Chromium)");
        let mut node = Command::new("node");
        node.args(["--test", "--test-reporter=tap", "--test-concurrency=1", "--test-timeout=120000"])
            .current_dir(self.root.join("e2e"))
            .env("SHOPSTREAM_BIN", self.target.join("debug/shopstream"))
            .env("SHOPSTREAM_SITE", self.root.join("storefront/dist"))
            .env("SHOPSTREAM_SDK_PKG", self.root.join("sdk-wasm/pkg"))
            .env("CHROMIUM", "/usr/bin/chromium")
            .env("SHOPSTREAM_MOTO_SERVER", self.moto_venv().join("bin/moto_server"))
            .arg("tests/");
        let node_ok = tally.run(&mut node)?;

        eprintln!("xtask: all tests took {:.0?}", started.elapsed());
        println!("tests: {} passed, {} failed", tally.passed, tally.failed);
        if !rust_ok || !node_ok || !infra_ok || tally.failed > 0 {
            bail!("some tests failed");
        }
        if tally.passed == 0 {
            bail!("no test ran");
        }
        Ok(())
    }
}

/// moto, started for the demo; stopped when dropped.
struct Moto {
    child: std::process::Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo user pool `scripts/cognito-demo.mjs` makes.
struct DemoPool {
    pool_id: String,
    client_id: String,
    username: String,
    password: String,
}

/// Counts passed and failed tests from cargo's and node's (TAP) summaries while echoing the output.
#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
}

impl Tally {
    fn run(&mut self, cmd: &mut Command) -> Result<bool> {
        let mut child = cmd.stdout(Stdio::piped()).spawn().with_context(|| format!("spawn {cmd:?}"))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut out = std::io::stdout();
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            writeln!(out, "{line}")?;
            self.read(&line);
        }
        Ok(child.wait()?.success())
    }

    fn read(&mut self, line: &str) {
        // cargo: "test result: ok. 8 passed; 0 failed; 0 ignored; ..."
        if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split(';') {
                let words: Vec<&str> = part.split_whitespace().collect();
                if let [.., n, kind] = words[..] {
                    let n: u64 = n.parse().unwrap_or(0);
                    match kind {
                        "passed" => self.passed += n,
                        "failed" => self.failed += n,
                        _ => {}
                    }
                }
            }
        }
        // node --test-reporter=tap: "# pass 3" / "# fail 0" (the run's closing summary)
        if let Some(n) = line.strip_prefix("# pass ") {
            self.passed += n.trim().parse::<u64>().unwrap_or(0);
        }
        if let Some(n) = line.strip_prefix("# fail ") {
            self.failed += n.trim().parse::<u64>().unwrap_or(0);
        }
    }
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn step(what: &str) {
    eprintln!("xtask: {what}");
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("cannot run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn capture(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn apt_install(packages: &[&str]) -> Result<()> {
    step(&format!("installing Debian packages {packages:?}"));
    let root = capture("id", &["-u"]).is_some_and(|u| u.trim() == "0");
    let apt = |args: &[&str]| {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut c)
    };
    apt(&["update", "-q"])?;
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend_from_slice(packages);
    apt(&install)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("read {}", from.display()))? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

/// (raw bytes, gzip -9 bytes) of a file.
fn sizes(path: &Path) -> Result<(usize, usize)> {
    let mut raw = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut raw)?;
    Ok((raw.len(), gzip9(&raw)?.len()))
}

fn gzip9(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}

/// A JavaScript string literal whose code units are `bytes` (U+0000..U+00FF; UTF-8 in the file).
/// Escaped: the quote, the backslash, line ends, and `<` (so the literal can sit in a `<script>`).
fn js_byte_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2 + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'<' => out.push_str("\\x3c"),
            _ => out.push(char::from(b)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_byte_string_is_every_byte_as_one_code_unit() {
        let all: Vec<u8> = (0..=255).collect();
        let literal = super::js_byte_string(&all);
        // Undo the five escapes; every other byte must be the char of the same code.
        let inner = &literal[1..literal.len() - 1];
        let decoded = inner.replace("\\x3c", "<").replace("\\n", "\n").replace("\\r", "\r");
        let decoded = decoded.replace("\\\"", "\"").replace("\\\\", "\\");
        let codes: Vec<u32> = decoded.chars().map(u32::from).collect();
        assert_eq!(codes, (0..=255).collect::<Vec<u32>>());
        assert!(!inner.contains("</"), "no closing tag can appear");
        assert_eq!(super::js_byte_string(b"a\"b"), "\"a\\\"b\"");
    }
}
