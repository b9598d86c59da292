//! Set-up shared by the benches: one app configuration, so every bench measures the
//! same screen size and provider and a change to `App::new` is made in one place.

use std::path::{Path, PathBuf};

use tinychat::app::{App, AppOptions};
use tinychat::config::Config;
use tinychat::conversation::Conversation;

/// An app on a 120×40 screen with one local provider and `local/m` selected, showing
/// `conversation` (a new one when `None`).
#[allow(
    clippy::expect_used,
    reason = "benchmark set-up: a failure is a broken bench"
)]
pub fn app(conversation: Option<Conversation>) -> App {
    let config = Config::from_toml(
        "[[providers]]\nname = \"local\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodels = [\"m\"]\n",
        Path::new("bench.toml"),
        &|_| None,
    )
    .expect("bench config parses");
    let (mut app, _) = App::new(AppOptions {
        config,
        model: Some("local/m".into()),
        conversation,
        config_path: PathBuf::from("bench.toml"),
    });
    app.resize(120, 40);
    app
}
