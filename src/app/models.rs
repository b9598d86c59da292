//! The model catalog behind the sidebar: providers, their models, the filter and the
//! highlighted row.
//!
//! Plain data kept current by `App::update`; the visible rows are derived here when the
//! catalog or the filter changes, so drawing only reads them.

use std::collections::BTreeMap;

use crate::model_settings::ModelInfo;
use crate::provider::ProviderSpec;

/// Where a provider's model list stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListState {
    /// Discovery is running in the background.
    Loading,
    /// Models are known (from discovery, the config or the built-in list).
    Ready,
    /// Discovery failed and there is nothing to fall back on.
    Failed(String),
    /// Discovery failed; the built-in list is shown instead.
    Fallback(String),
}

/// One sidebar group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderModels {
    pub name: String,
    /// Why it cannot be used (e.g. "set OPENAI_API_KEY"); such providers are dimmed.
    pub disabled: Option<String>,
    pub models: Vec<String>,
    pub state: ListState,
    /// Hidden until its discovery succeeds (the Ollama built-in).
    pub optional: bool,
    /// Shown beside the name: where the models run, e.g. `(local, CPU)`.
    pub note: Option<&'static str>,
}

impl ProviderModels {
    /// Whether the sidebar shows this provider at all.
    pub fn visible(&self) -> bool {
        !self.optional || self.state == ListState::Ready
    }
}

/// A visible sidebar row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// Provider heading (index into `providers`).
    Provider(usize),
    /// Why a provider has no models (disabled: the variable to set; or discovery
    /// failed), wrapped to the sidebar: (provider index, wrapped line index).
    Hint(usize, usize),
    /// A model (provider index, model index).
    Model(usize, usize),
}

/// Providers, models, filter and selection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelCatalog {
    pub providers: Vec<ProviderModels>,
    /// Case-insensitive substring filter typed in the sidebar.
    pub filter: String,
    /// Rows shown for the current filter.
    pub rows: Vec<Row>,
    /// Index into `rows` of the highlighted model row.
    pub selected: Option<usize>,
    /// First row shown (kept so the selection stays in view).
    pub scroll: usize,
    /// Columns of the list, for wrapping hints.
    pub width: usize,
    /// Each provider's hint wrapped to `width` (empty: none), by provider index:
    /// derived with the rows, so drawing never wraps.
    hints: Vec<Vec<String>>,
    /// What discovery said about each model's window and prices, by `provider/model`
    /// (models it said nothing about are absent).
    info: BTreeMap<String, ModelInfo>,
}

impl ModelCatalog {
    /// A catalog for `providers`: enabled ones first (in config order) and loading,
    /// unless the config names their models; disabled ones after them, dimmed.
    pub fn new(providers: &[ProviderSpec]) -> Self {
        let ordered = providers
            .iter()
            .filter(|p| p.disabled.is_none())
            .chain(providers.iter().filter(|p| p.disabled.is_some()));
        let mut catalog = ModelCatalog {
            providers: ordered
                .map(|p| ProviderModels {
                    name: p.name.clone(),
                    disabled: p.disabled.clone(),
                    models: p.models.clone().unwrap_or_default(),
                    state: if p.models.is_some() || p.disabled.is_some() {
                        ListState::Ready
                    } else {
                        ListState::Loading
                    },
                    optional: p.optional,
                    note: p.sidebar_note(),
                })
                .collect(),
            ..ModelCatalog::default()
        };
        catalog.rebuild_rows();
        catalog
    }

    /// Stores a provider's models (discovery finished) and what discovery said about
    /// them, by model id; what an earlier discovery of the provider said is replaced.
    pub fn set_models(
        &mut self,
        provider: &str,
        models: Vec<String>,
        info: BTreeMap<String, ModelInfo>,
        error: Option<String>,
    ) {
        let prefix = format!("{provider}/");
        self.info.retain(|full, _| !full.starts_with(&prefix));
        self.add_info(provider, info);
        if let Some(p) = self.providers.iter_mut().find(|p| p.name == provider) {
            p.state = match error {
                Some(e) if models.is_empty() => ListState::Failed(e),
                Some(e) => ListState::Fallback(e),
                None => ListState::Ready,
            };
            p.models = models;
        }
        let keep = self.selected_model();
        self.rebuild_rows();
        if let Some(full) = keep {
            self.select_model(&full);
        }
    }

    /// Adds what a provider said about some of its models (by model id), over what it
    /// said before about the same ones.
    pub fn add_info(&mut self, provider: &str, info: BTreeMap<String, ModelInfo>) {
        self.info.extend(
            info.into_iter()
                .map(|(model, info)| (format!("{provider}/{model}"), info)),
        );
    }

    /// What discovery said about `full` (`provider/model`): nothing when it said
    /// nothing.
    pub fn info(&self, full: &str) -> ModelInfo {
        self.info.get(full).copied().unwrap_or_default()
    }

    /// Whether `provider/model` can be used now.
    pub fn is_usable(&self, provider: &str) -> bool {
        self.providers
            .iter()
            .any(|p| p.name == provider && p.disabled.is_none())
    }

    /// The first usable model, to start with when nothing else was chosen.
    pub fn first_usable(&self) -> Option<String> {
        self.providers
            .iter()
            .filter(|p| p.disabled.is_none())
            .find_map(|p| p.models.first().map(|m| format!("{}/{m}", p.name)))
    }

    /// Whether any provider could be used (drives the welcome text). An optional one
    /// counts once it answered.
    pub fn any_enabled(&self) -> bool {
        self.providers
            .iter()
            .any(|p| p.disabled.is_none() && p.visible())
    }

    /// Whether `provider` is hidden until it answers.
    pub fn is_optional(&self, provider: &str) -> bool {
        self.providers
            .iter()
            .any(|p| p.name == provider && p.optional)
    }

    pub fn set_filter(&mut self, filter: String) {
        self.filter = filter;
        self.rebuild_rows();
        self.selected = self.rows.iter().position(|r| matches!(r, Row::Model(..)));
        self.scroll = 0;
    }

    /// Highlights `provider/model` if it is visible.
    pub fn select_model(&mut self, full: &str) {
        if let Some(i) = self
            .rows
            .iter()
            .position(|r| self.row_model(*r).as_deref() == Some(full))
        {
            self.selected = Some(i);
        }
    }

    /// Moves the highlight by `delta` model rows (headings are skipped).
    pub fn move_selection(&mut self, delta: isize) {
        let models: Vec<usize> = (0..self.rows.len())
            .filter(|&i| matches!(self.rows[i], Row::Model(..)))
            .collect();
        if models.is_empty() {
            self.selected = None;
            return;
        }
        let current = self
            .selected
            .and_then(|s| models.iter().position(|&i| i == s));
        let next = match current {
            None => 0,
            Some(c) => c.saturating_add_signed(delta).min(models.len() - 1),
        };
        self.selected = Some(models[next]);
    }

    /// Keeps the highlighted row inside a list `height` rows tall.
    pub fn keep_in_view(&mut self, height: usize) {
        let height = height.max(1);
        let Some(sel) = self.selected else {
            self.scroll = 0;
            return;
        };
        // Show the provider heading above the first model of a group when possible.
        let top_wanted = sel.saturating_sub(1);
        if top_wanted < self.scroll {
            self.scroll = top_wanted;
        } else if sel >= self.scroll + height {
            self.scroll = sel + 1 - height;
        }
        self.scroll = self.scroll.min(self.rows.len().saturating_sub(height));
    }

    /// The highlighted `provider/model`.
    pub fn selected_model(&self) -> Option<String> {
        self.selected
            .and_then(|i| self.rows.get(i))
            .and_then(|r| self.row_model(*r))
    }

    /// `provider/model` of a model row.
    pub fn row_model(&self, row: Row) -> Option<String> {
        match row {
            Row::Model(p, m) => {
                let provider = self.providers.get(p)?;
                Some(format!("{}/{}", provider.name, provider.models.get(m)?))
            }
            Row::Provider(_) | Row::Hint(..) => None,
        }
    }

    /// Sets the list width; hints are re-wrapped when it changes.
    pub fn set_width(&mut self, width: usize) {
        if width != self.width {
            self.width = width;
            let keep = self.selected_model();
            self.rebuild_rows();
            if let Some(full) = keep {
                self.select_model(&full);
            }
        }
    }

    /// The hint under a provider heading, wrapped to the list width.
    pub fn hint_lines(&self, provider: usize) -> &[String] {
        self.hints.get(provider).map_or(&[], Vec::as_slice)
    }

    /// A provider's hint at the list's width, at most four rows.
    fn wrap_hint(p: &ProviderModels, width: usize) -> Vec<String> {
        // The full discovery error is on the status line and in `tinychat models`.
        let text = match (&p.disabled, &p.state) {
            (Some(why), _) => why.clone(),
            (None, ListState::Failed(_)) => "cannot list models".to_owned(),
            (None, ListState::Fallback(_)) => "cannot list models: built-in list".to_owned(),
            _ => return Vec::new(),
        };
        let wrapped = crate::view::wrap::WrappedText::new(&text, width.max(8));
        wrapped
            .rows()
            .iter()
            .take(4)
            .map(|r| text[r.clone()].trim_end().to_owned())
            .collect()
    }

    fn rebuild_rows(&mut self) {
        let needle = self.filter.to_lowercase();
        self.rows.clear();
        let width = self.width;
        self.hints = self
            .providers
            .iter()
            .map(|p| Self::wrap_hint(p, width))
            .collect();
        for (pi, p) in self.providers.iter().enumerate() {
            if !p.visible() {
                continue;
            }
            let name_matches = p.name.to_lowercase().contains(&needle);
            let models: Vec<usize> = if p.disabled.is_some() {
                Vec::new()
            } else {
                (0..p.models.len())
                    .filter(|&mi| {
                        needle.is_empty()
                            || name_matches
                            || p.models[mi].to_lowercase().contains(&needle)
                    })
                    .collect()
            };
            if needle.is_empty() || name_matches || !models.is_empty() {
                self.rows.push(Row::Provider(pi));
                let hints = self.hints[pi].len();
                self.rows.extend((0..hints).map(|line| Row::Hint(pi, line)));
                self.rows
                    .extend(models.into_iter().map(|mi| Row::Model(pi, mi)));
            }
        }
        if self.selected.is_none_or(|s| s >= self.rows.len()) {
            self.selected = self.rows.iter().position(|r| matches!(r, Row::Model(..)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn catalog() -> ModelCatalog {
        let mut c = ModelCatalog {
            providers: vec![
                ProviderModels {
                    name: "openai".into(),
                    disabled: None,
                    models: vec!["gpt-4o".into(), "gpt-4o-mini".into()],
                    state: ListState::Ready,
                    optional: false,
                    note: None,
                },
                ProviderModels {
                    name: "anthropic".into(),
                    disabled: Some("set ANTHROPIC_API_KEY".into()),
                    models: vec![],
                    state: ListState::Ready,
                    optional: false,
                    note: None,
                },
                ProviderModels {
                    name: "mistral".into(),
                    disabled: None,
                    models: vec!["mistral-small".into()],
                    state: ListState::Ready,
                    optional: false,
                    note: None,
                },
            ],
            width: 30,
            ..ModelCatalog::default()
        };
        c.rebuild_rows();
        c
    }

    #[test]
    fn rows_list_headings_and_models_and_skip_headings_when_moving() {
        let mut c = catalog();
        assert_eq!(
            c.rows,
            [
                Row::Provider(0),
                Row::Model(0, 0),
                Row::Model(0, 1),
                Row::Provider(1),
                Row::Hint(1, 0),
                Row::Provider(2),
                Row::Model(2, 0)
            ]
        );
        assert_eq!(c.selected_model().as_deref(), Some("openai/gpt-4o"));
        c.move_selection(2);
        assert_eq!(c.selected_model().as_deref(), Some("mistral/mistral-small"));
        c.move_selection(5);
        assert_eq!(c.selected_model().as_deref(), Some("mistral/mistral-small"));
        c.move_selection(-9);
        assert_eq!(c.selected_model().as_deref(), Some("openai/gpt-4o"));
    }

    #[test]
    fn filter_is_a_case_insensitive_substring_and_selects_the_first_match() {
        let mut c = catalog();
        c.set_filter("MINI".into());
        assert_eq!(c.rows, [Row::Provider(0), Row::Model(0, 1)]);
        assert_eq!(c.selected_model().as_deref(), Some("openai/gpt-4o-mini"));
        c.set_filter("mistral".into());
        assert_eq!(c.selected_model().as_deref(), Some("mistral/mistral-small"));
        c.set_filter("zzz".into());
        assert!(c.rows.is_empty());
        assert_eq!(c.selected_model(), None);
    }

    #[test]
    fn loaded_models_keep_the_highlight() {
        let mut c = catalog();
        c.move_selection(1);
        c.set_models(
            "mistral",
            vec!["a".into(), "b".into()],
            BTreeMap::new(),
            None,
        );
        assert_eq!(c.selected_model().as_deref(), Some("openai/gpt-4o-mini"));
    }

    #[test]
    fn an_optional_provider_shows_only_once_it_answers() {
        let mut c = catalog();
        c.providers.push(ProviderModels {
            name: "ollama".into(),
            disabled: None,
            models: vec![],
            state: ListState::Loading,
            optional: true,
            note: None,
        });
        c.rebuild_rows();
        assert!(!c.rows.contains(&Row::Provider(3)));
        c.set_models(
            "ollama",
            vec![],
            BTreeMap::new(),
            Some("connection refused".into()),
        );
        assert!(!c.rows.contains(&Row::Provider(3)));
        c.set_models(
            "ollama",
            vec!["llama3.2:latest".into()],
            BTreeMap::new(),
            None,
        );
        assert!(c.rows.contains(&Row::Model(3, 0)));
    }

    #[test]
    fn selection_scrolls_into_view() {
        let mut c = catalog();
        c.move_selection(2);
        c.keep_in_view(2);
        assert_eq!(c.scroll, 5);
        c.move_selection(-2);
        c.keep_in_view(2);
        assert_eq!(c.scroll, 0);
    }
}
