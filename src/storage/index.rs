//! Stand-in with the index API the browser uses; replaced by the full index (issue 4).

use std::path::PathBuf;

use super::ConversationStore;
use super::error::StorageError;

/// One saved conversation as the browser shows and searches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub id: String,
    pub path: PathBuf,
    pub title: String,
    pub model: Option<String>,
    pub updated_at: String,
    pub message_count: usize,
    pub problem: Option<String>,
}

/// A search result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    pub entry: usize,
    pub snippet: Option<String>,
}

impl IndexEntry {
    pub fn from_conversation(c: &crate::conversation::Conversation, path: PathBuf) -> IndexEntry {
        IndexEntry {
            id: c.id.clone(),
            path,
            title: c.title.clone(),
            model: c.last_model().map(str::to_owned),
            updated_at: c.updated_at.clone(),
            message_count: c.messages.len(),
            problem: None,
        }
    }
}

impl ConversationStore {
    pub fn index(&self) -> Vec<IndexEntry> {
        self.list()
            .into_iter()
            .map(|e| IndexEntry {
                id: e.id,
                path: e.path,
                title: e.title,
                model: e.model,
                updated_at: e.updated_at,
                message_count: e.message_count,
                problem: e.problem,
            })
            .collect()
    }

    pub fn rename(&self, id: &str, title: &str) -> Result<(), StorageError> {
        let mut c = self.load(id)?;
        title.clone_into(&mut c.title);
        self.save(&c).map(|_| ())
    }

    pub fn delete(&self, id: &str) -> Result<(), StorageError> {
        let path = self.path_for(id)?;
        std::fs::remove_file(&path).map_err(|e| StorageError::Io {
            action: super::error::IoAction::Write,
            path,
            source: e,
        })
    }
}

pub fn search(entries: &[IndexEntry], query: &str) -> Vec<SearchHit> {
    let q = query.trim().to_lowercase();
    entries
        .iter()
        .enumerate()
        .filter(|(_, e)| q.is_empty() || e.title.to_lowercase().contains(&q))
        .map(|(entry, _)| SearchHit {
            entry,
            snippet: None,
        })
        .collect()
}
