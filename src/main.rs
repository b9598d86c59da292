//! Start-up only: parse the command line, load the config, start logging, then run the
//! UI or a subcommand, and turn the outcome into an exit status (spec §2: 0 success,
//! 1 runtime error, 2 bad usage). The config is validated before the terminal is
//! touched, so its errors print as plain lines (design §6).

use std::process::ExitCode;

use clap::Parser;

use tinychat::app::{App, AppOptions};
use tinychat::cli::{self, Cli, Command};
use tinychat::config::{self, Paths};
use tinychat::model_ref::{self, ModelError};
use tinychat::storage::ConversationStore;
use tinychat::{logging, runtime, terminal};

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    // Before anything can panic: no panic message may print input raw (terminal.rs).
    terminal::install_panic_hook();
    let cli = Cli::parse();
    let Some(paths) = Paths::from_env() else {
        tinychat::say!("cannot find the home folder: set HOME");
        return ExitCode::FAILURE;
    };
    let (config_path, required) = match &cli.config {
        Some(path) => (path.clone(), true),
        None => (paths.config_file.clone(), false),
    };
    let env = |name: &str| std::env::var(name).ok();
    let config = match config::load(&config_path, required, &env) {
        Ok(config) => config,
        Err(e) => {
            tinychat::say!("{e}");
            return ExitCode::FAILURE;
        }
    };
    #[cfg(feature = "local")]
    set_kernel_threads(&config);
    let _log_guard = logging::init(&paths.log_dir);
    let store = ConversationStore::new(paths.conversations_dir());

    match &cli.command {
        Some(Command::List) => return cli::list(&store),
        Some(Command::Export {
            id_or_file,
            format,
            output,
        }) => return cli::export(&store, id_or_file, format.as_deref(), output.as_deref()),
        _ => {}
    }

    // The UI loop runs on this thread (`block_on`); every spawned task (reading and
    // parsing reply bodies, model discovery, the download) runs on one worker thread, so
    // nothing a server sends can keep the loop from answering a key (issue 10).
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("tinychat-io")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tinychat::say!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match &cli.command {
        Some(Command::Models) => rt.block_on(cli::models(&config)),
        Some(Command::Ask { prompt, thinking }) => {
            rt.block_on(cli::ask(&config, cli.model.as_deref(), prompt, *thinking))
        }
        _ => {
            // A disabled provider is said on the status line; a name that cannot be
            // one is a usage error.
            if let Some(model) = &cli.model
                && let Err(
                    e @ (ModelError::NotProviderModel { .. } | ModelError::UnknownProvider { .. }),
                ) = model_ref::resolve(&config, model)
            {
                tinychat::say!("{}", cli::model_error_text(&e));
                return ExitCode::from(2);
            }
            let (conversation, notice) = match &cli.open {
                Some(id) => match store.open(id) {
                    Ok(opened) => (Some(opened.conversation), opened.notice),
                    Err(e) => {
                        tinychat::say!("{e}");
                        return ExitCode::FAILURE;
                    }
                },
                None => (None, None),
            };
            // After the arguments are checked, so a bad one is reported as such.
            if let Some(why) = cli::ui_needs_terminal() {
                tinychat::say!("{why}");
                return ExitCode::FAILURE;
            }
            let (mut app, effects) = App::new(AppOptions {
                config,
                model: cli.model.clone(),
                conversation,
                config_path,
            });
            if let Some(notice) = notice {
                app.show_notice(notice);
            }
            let result = rt.block_on(async {
                let (mut guard, mut term) = terminal::TerminalGuard::enter()?;
                let result =
                    runtime::run(started, app, effects, &mut term, &mut guard, store).await;
                terminal::restore();
                result
            });
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    terminal::restore();
                    tinychat::say!("tinychat: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// candle sizes its quantized-kernel pool from `CANDLE_NUM_THREADS` and its other
/// kernels' pool from `RAYON_NUM_THREADS`, each read once when a local model first
/// runs. Its workers spin while they wait, so on a machine where another process is
/// busy, one thread per physical core collapses throughput: the default leaves one
/// core free (`[local] threads` overrides it, and so do the variables when set).
#[cfg(feature = "local")]
#[allow(
    unsafe_code,
    reason = "setting a variable while the process has one thread"
)]
fn set_kernel_threads(config: &tinychat::config::Config) {
    let threads = config
        .local
        .threads
        .unwrap_or_else(tinychat::provider::local::default_threads)
        .to_string();
    for name in ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"] {
        if std::env::var_os(name).is_none() {
            // SAFETY: called from `main` before any other thread exists (the async
            // runtime, the log writer and the inference thread all start later), so
            // nothing can read the environment while it changes.
            unsafe { std::env::set_var(name, &threads) };
        }
    }
}
